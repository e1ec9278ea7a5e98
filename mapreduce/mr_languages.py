"""languages: statuses per language code that day (``und`` when the status has none)."""
from mapreduce.lakejob import StatusCountJob


class MRLanguages(StatusCountJob):
    METRIC = "languages"

    def keys(self, record):
        return [record["language"]]


if __name__ == "__main__":
    MRLanguages.run()
