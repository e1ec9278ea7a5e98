"""emojis: statuses using each custom ``:shortcode:`` or Unicode emoji that day (once per status)."""
from mapreduce.lakejob import StatusCountJob


class MREmojis(StatusCountJob):
    METRIC = "emojis"

    def keys(self, record):
        return record["emojis"]


if __name__ == "__main__":
    MREmojis.run()
