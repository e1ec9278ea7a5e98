"""media: statuses with at least one attachment (``toot_with_media``) and per attachment type
(``type:image``, ``type:video``, ``type:gifv``, ``type:audio``, ``type:unknown``) that day."""
from mapreduce import records
from mapreduce.lakejob import StatusCountJob


class MRMedia(StatusCountJob):
    METRIC = "media"

    def keys(self, record):
        return records.media_keys(record["media_types"])


if __name__ == "__main__":
    MRMedia.run()
