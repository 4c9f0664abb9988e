# ssh:// engines (issue #16): the integration test runs a private sshd, so test-prep makes sure the
# OpenSSH server is installed.

.PHONY: ssh-prep

ssh-prep:
	bash $(TONGS_ROOT)/make/ensure-sshd.sh

test-prep:: ssh-prep
