"""Pure functions over plain data: seed and feed parsing, cleaning, dedupe keys, classification.

Nothing here touches the network, a database or Prefect.
"""
