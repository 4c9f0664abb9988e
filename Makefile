# tongs — run an AI coding harness in a container with credential-holding MCP sidecars beside it.
# The pieces live in make/*.mk; `make help` lists targets and variables.
TONGS_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

include $(TONGS_ROOT)/make/common.mk
-include $(sort $(filter-out $(TONGS_ROOT)/make/common.mk,$(wildcard $(TONGS_ROOT)/make/*.mk)))
