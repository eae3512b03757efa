"""`ccprompt watch`: keep the state fresh on an interval, backing off on failure."""
