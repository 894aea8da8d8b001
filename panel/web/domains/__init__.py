"""Domain screens; `pages` holds what the mailbox and alias screens share with them."""
