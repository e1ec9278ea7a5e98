"""Tests against the multi-node cluster (`make cluster-test` starts it and sources var/cluster/env.sh).

The fixtures of tests/conftest.py apply unchanged (settings from the environment, an HDFS root
and HBase table prefix per session): that the project reaches the cluster by configuration
alone is the point. Only the readiness check differs: the cluster must answer, not the stack.
"""
from __future__ import annotations

import pytest

from tests.cluster import nodes


@pytest.fixture(scope="session")
def stack() -> None:
    """Fail (never skip) unless the environment points at the cluster and every node answers."""
    problems = nodes.environment_problems()
    if problems:
        pytest.fail("the environment does not point at the cluster (" + "; ".join(problems) + "); run the cluster "
                    "tests with `make cluster-test`, or `make cluster` then `. stack/env.sh && . var/cluster/env.sh`")
    problems = nodes.unready_nodes()
    if problems:
        pytest.fail("the cluster is not ready: " + "; ".join(problems) + " (`make cluster` starts what is missing)")
