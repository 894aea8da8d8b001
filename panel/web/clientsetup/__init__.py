"""The client set-up page and Apple profile of one mailbox, for its user and for staff."""
