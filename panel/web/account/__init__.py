"""The mailbox user's own pages: password, forwarding, vacation, app passwords."""
