# The Postgres pair (issue #13 item 2): sidecars/postgres (a real PostgreSQL from this host's Debian
# package files) and sidecars/postgres-mcp (the npm server mcp-postgres-server as a stdio tong).
# Both images build without a registry. See the build-image.sh of each.
# var POSTGRES_IMAGE  tag of the PostgreSQL tong image (default tongs-postgres:local)
POSTGRES_IMAGE ?= tongs-postgres:local
# var POSTGRES_MCP_IMAGE  tag of the postgres-mcp tong image (default tongs-postgres-mcp:local)
POSTGRES_MCP_IMAGE ?= tongs-postgres-mcp:local

.PHONY: postgres-image postgres-mcp-image

postgres-image: ## build the PostgreSQL tong image from this host's Debian postgresql package (only when its inputs changed)
	bash $(TONGS_ROOT)/sidecars/postgres/build-image.sh $(POSTGRES_IMAGE)

postgres-mcp-image: ## build the postgres-mcp stdio tong image (only when its inputs changed)
	bash $(TONGS_ROOT)/sidecars/postgres-mcp/build-image.sh $(POSTGRES_MCP_IMAGE)
