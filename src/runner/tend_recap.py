# tend's Ansible callback: writes the per-host recap of a playbook run as
# JSON to $TEND_RECAP_FILE, beside the normal human output. Shipped inside
# the tend binary and enabled only for runs that tend starts.
import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tend_recap"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        recap = []
        for host in sorted(stats.processed.keys()):
            s = stats.summarize(host)
            recap.append({
                "host": host,
                "ok": s.get("ok", 0),
                "changed": s.get("changed", 0),
                "failed": s.get("failures", 0),
                "unreachable": s.get("unreachable", 0),
                "skipped": s.get("skipped", 0),
            })
        path = os.environ.get("TEND_RECAP_FILE")
        if path:
            with open(path, "w") as f:
                json.dump(recap, f)
