"""`ccprompt doctor`: a registry of checks from the credential to the clock, each with a fix."""
