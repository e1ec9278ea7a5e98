"""sentiment: English statuses (``en``, ``en-*``) that day per VADER label, ``positive`` /
``neutral`` / ``negative`` (scored by curate, :func:`mapreduce.records.status_sentiment`);
other languages are not counted (counter ``not_english``)."""
from mapreduce.lakejob import CuratedFieldsCountJob


class MRSentiment(CuratedFieldsCountJob):
    METRIC = "sentiment"
    FIELDS = ("sentiment",)

    def keys(self, record):
        if record["sentiment"] is None:
            self.count("not_english")
            return []
        return [record["sentiment"]]


if __name__ == "__main__":
    MRSentiment.run()
