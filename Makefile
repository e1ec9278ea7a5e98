# Operator commands (DESIGN.md). Each does its own set-up and is safe to run twice.
SHELL := /bin/bash
PY := .venv/bin/python
SERVICES ?=
NODES ?=

.PHONY: help setup start stop status airflow airflow-stop demo test bench clean cluster cluster-stop cluster-status cluster-test

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup:  ## virtualenv, Hadoop/HBase jars, configs, local pseudonym key (idempotent)
	@./stack/setup.sh

start: setup  ## start HDFS, YARN, HBase + Thrift and wait until they answer (SERVICES="hdfs hbase" for a subset)
	@$(PY) stack/stackctl.py start $(SERVICES)

stop:  ## stop the local stack (and Airflow if `make airflow` started it)
	@./stack/airflow.sh stop 2>/dev/null || true
	@python3 stack/stackctl.py stop $(SERVICES)

status:  ## which services run and answer
	@python3 stack/stackctl.py status $(SERVICES)

airflow: start  ## Airflow 3 (web UI on http://localhost:8080, scheduler, dag-processor); prints the login
	@./stack/airflow.sh start

demo: setup  ## the main job end to end on the stand-in federation, then the analysis
	@./stack/demo.sh

test: setup  ## every test, starting the stack it needs (and stopping what it started)
	@./stack/test.sh

cluster: setup  ## a multi-node Hadoop + HBase cluster on 127.0.10.x (NODES="datanode2 ..." for some); writes var/cluster/env.sh
	@$(PY) stack/stackctl.py --profile cluster start $(NODES)

cluster-stop:  ## stop the nodes `make cluster` started
	@python3 stack/stackctl.py --profile cluster stop $(NODES)

cluster-status:  ## which cluster nodes run and answer, and what the masters count
	@python3 stack/stackctl.py --profile cluster status $(NODES)

cluster-test: setup  ## tests/cluster/ against the multi-node cluster (starts it if needed, stops what it started)
	@./stack/cluster-test.sh

bench: setup  ## the benchmarks in bench/ (start the stack first or let them start it)
	@./stack/bench.sh

clean:  ## stop everything and delete the lake data under var/ (keeps the jar cache and venv)
	@$(MAKE) --no-print-directory stop
	rm -rf var
