"""Public client set-up documents: Thunderbird autoconfig, Outlook autodiscover."""
