"""Service levels that page the right person: SLAs, on-call, incidents, notifiers, sensors."""
