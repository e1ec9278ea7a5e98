"""urls: statuses linking each external host that day (mention and hashtag links excluded)."""
from mapreduce.lakejob import StatusCountJob


class MRUrls(StatusCountJob):
    METRIC = "urls"

    def keys(self, record):
        return record["link_hosts"]


if __name__ == "__main__":
    MRUrls.run()
