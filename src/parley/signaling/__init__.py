"""Chime SDK signaling (``MediaPlacement.SignalingUrl``): amazon-chime-sdk-js joins parley meetings here."""
