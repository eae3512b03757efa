"""Where ccprompt's facts come from: credentials, the probe, transcripts, the proxy, and the recorder that writes them."""
