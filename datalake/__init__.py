"""What every stage shares: settings from the environment and the HDFS data-lake layout."""
