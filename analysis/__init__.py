"""The analysis layer: HBase tables → pandas (``hbase_frames``) → charts (``charts``) in the notebook
``mastodon_analysis.ipynb``, executed headless by ``python -m analysis run`` (``runner``)."""
