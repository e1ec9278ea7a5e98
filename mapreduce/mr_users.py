"""users: per user key, that day's followers (as of the user's latest status by created_at),
toots and interactions (Σ favourites + reblogs + replies).

Map value ``[created_at, uri, followers, toots, interactions]``; merging two keeps the followers of
the later (created_at, uri) and adds the rest, which is associative, so the combiner is the merge.
"""
from mapreduce.lakejob import MetricJob


def merge_user_day(values):
    latest, toots, interactions = None, 0, 0
    for created_at, uri, followers, value_toots, value_interactions in values:
        if latest is None or (created_at, uri) > latest[:2]:
            latest = (created_at, uri, followers)
        toots += value_toots
        interactions += value_interactions
    return [latest[0], latest[1], latest[2], toots, interactions]


class MRUsers(MetricJob):
    METRIC = "users"

    def map_record(self, record):
        if record["user"] is None:  # the author's handle broke the bad-key rule
            self.count("statuses_without_user")
            return
        yield record["user"], [record["created_at"], record["uri"], record["followers"], 1, record["interactions"]]

    def combiner(self, user, values):
        yield user, merge_user_day(values)

    def reducer(self, user, values):
        _, _, followers, toots, interactions = merge_user_day(values)
        yield user, {"followers": followers, "toots": toots, "interactions": interactions}


if __name__ == "__main__":
    MRUsers.run()
