"""What ``edigw --help`` prints: click's help of the ``edigw`` group at its widest.

Written by ``scripts/help_text.py --write`` (do not edit by hand); the console script
(:mod:`gateway.interfaces.entry`) prints it without importing click, and
``tests/unit/test_cli_help.py`` renders it again with click and compares.
"""

EDIGW_HELP = (
    'Usage: edigw [OPTIONS] COMMAND [ARGS]...\n'
    '\n'
    "  port-edi-gateway: the customs single window's EDI gateway.\n"
    '\n'
    'Options:\n'
    '  --config FILE                   TOML file merged over the defaults.\n'
    '  --log-format [auto|json|console]\n'
    '                                  auto: readable in a terminal, JSON lines\n'
    '                                  otherwise.  [default: auto]\n'
    '  --log-level [debug|info|warning|error]\n'
    '                                  Log lines below this level are not written\n'
    '                                  (stderr).  [env var: EDIGW_LOG_LEVEL;\n'
    '                                  default: info]\n'
    '  --version                       Show the version and exit.\n'
    '  -h, --help                      Show this message and exit.\n'
    '\n'
    'Commands:\n'
    "  audit        The operators' audit trail: who did what, when, to which...\n"
    '  calls        Ship calls: the manifests, bills and containers of each,...\n'
    "  console      Serve the operators' web console (sign in with an account:...\n"
    '  contrl       Print the CONTRL the gateway would send for FILE (exit 0...\n'
    "  db           The PostgreSQL journal's schema: status, upgrade...\n"
    '  demo         Start the gateway, submit the bundled samples, print what...\n'
    '  directories  UN/EDIFACT directory tables built on this machine: generate.\n'
    '  dlq          Dead letters: list, group, show, replay, edit, purge, export.\n'
    "  keys         The gateway's signing keys: generate, list, rotate (old...\n"
    '  overdue      List routed documents with no customs answer after the...\n'
    '  partners     Partner isolation on the broker: one user and one virtual...\n'
    '  routes       Migration routing: show the rules, reload them in running...\n'
    "  run          Run the gateway's workers until SIGINT/SIGTERM (graceful:...\n"
    "  submit       Publish FILES to the partner's inbound queue as that...\n"
    '  topology     Declare every exchange and queue (idempotent) and print...\n'
    '  track        Show the story of every message whose business reference...\n'
    '  translate    Decode FILE offline (no broker) and print the canonical XML.\n'
    "  travellers   Travellers' vehicles (TPD) and currency declarations...\n"
    "  verify       Check FILE's signature against the trust store: exit 0..."
)
