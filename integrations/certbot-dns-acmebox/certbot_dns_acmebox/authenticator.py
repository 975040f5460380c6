"""The `dns-acmebox` authenticator.

certbot asks it to publish and remove each DNS-01 value; it runs `acmebox certbot-hook`, which
loads the configured provider into the sandbox, publishes the value (following a CNAME on
`_acme-challenge`), journals it so that even a crash leaves nothing behind, and returns only
once every authoritative nameserver serves it. So the plugin waits for propagation through
acmebox and certbot's own fixed sleep defaults to 0.
"""

import logging
import os
import shutil
import subprocess

from certbot import errors
from certbot.plugins import dns_common

logger = logging.getLogger(__name__)

# The longest one acmebox call may take: the provider's propagation timeout is at most this.
CALL_TIMEOUT_SECONDS = 30 * 60


class Authenticator(dns_common.DNSAuthenticator):
    """Publishes DNS-01 records through a sandboxed acmebox provider."""

    description = (
        "Obtain certificates with a DNS-01 record published by an acmebox provider, a DNS "
        "provider sandboxed as a WebAssembly component."
    )

    @classmethod
    def add_parser_arguments(cls, add, default_propagation_seconds=0):
        super().add_parser_arguments(add, default_propagation_seconds=0)
        add("config", help="The acmebox config file (TOML) that configures the provider.")
        add("provider", help="The provider's name in that config file.")
        add(
            "binary",
            default="acmebox",
            help="The acmebox program (default: acmebox on PATH).",
        )
        add(
            "authoritative",
            action="append",
            default=None,
            help="Check propagation at this nameserver (host:port) instead of the zone's "
            "NS set; repeat for more.",
        )
        add(
            "propagation-timeout",
            default=None,
            help="How long acmebox waits for the record to propagate (such as 90s or 5m), "
            "instead of what the provider suggests.",
        )
        add(
            "resolver",
            action="append",
            default=None,
            help="Resolve through this server (host:port) instead of the system's; repeat "
            "for more.",
        )

    def more_info(self):
        return (
            "Publishes each DNS-01 TXT value through a DNS provider that acmebox runs in a "
            "WebAssembly sandbox, and waits until every authoritative nameserver serves it."
        )

    def _setup_credentials(self):
        # The credentials are in the acmebox config (environment variables or files it
        # names); certbot never sees them.
        if not self.conf("config") or not self.conf("provider"):
            raise errors.PluginError(
                "dns-acmebox needs --dns-acmebox-config FILE and --dns-acmebox-provider NAME"
            )
        if not os.path.isfile(self.conf("config")):
            raise errors.PluginError(
                "dns-acmebox: the acmebox config {} does not exist".format(self.conf("config"))
            )
        if shutil.which(self.conf("binary")) is None:
            raise errors.PluginError(
                "dns-acmebox: cannot find the acmebox program {!r}; install acmebox or pass "
                "--dns-acmebox-binary PATH".format(self.conf("binary"))
            )

    def _perform(self, domain, validation_name, validation):
        self._hook("auth", domain, validation)

    def _cleanup(self, domain, validation_name, validation):
        # certbot cleans up on every path; a failure here must not hide the one before it.
        try:
            self._hook("cleanup", domain, validation)
        except errors.PluginError as err:
            logger.warning("%s", err)

    def _hook(self, phase, domain, validation):
        command = [
            self.conf("binary"),
            "certbot-hook",
            phase,
            "--config",
            self.conf("config"),
            "--provider",
            self.conf("provider"),
        ]
        for server in self.conf("authoritative") or []:
            command += ["--authoritative", server]
        for server in self.conf("resolver") or []:
            command += ["--resolver", server]
        if self.conf("propagation-timeout"):
            command += ["--propagation-timeout", self.conf("propagation-timeout")]
        env = dict(os.environ, CERTBOT_DOMAIN=domain, CERTBOT_VALIDATION=validation)
        try:
            done = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=CALL_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise errors.PluginError(
                "dns-acmebox: running {} failed: {}".format(command[0], err)
            ) from err
        for line in (done.stdout + done.stderr).splitlines():
            logger.info("acmebox: %s", line)
        if done.returncode != 0:
            raise errors.PluginError(
                "dns-acmebox: acmebox certbot-hook {} for {} failed: {}".format(
                    phase, domain, done.stderr.strip() or done.stdout.strip()
                )
            )
