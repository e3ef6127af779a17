"""The default thresholds of a bundle, defined once: export writes them into manifest.json
(output.threshold, presence_threshold), the service reads them from there, and the training
side's evaluation, plots and benchmarks use these same values when not told otherwise.

THRESHOLD: a pixel is in the mask when its probability is above it (the reference's 0.35).
PRESENCE_THRESHOLD: a presence head's phrase is found when sigmoid(presence) is above it.
"""

THRESHOLD = 0.35
PRESENCE_THRESHOLD = 0.5
