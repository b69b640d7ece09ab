"""`python -m pwa`: serve the app (Flask's server; fine for a commune's demo and tests)."""

import os

from pwa import create_app

if __name__ == "__main__":
    port = int(os.environ.get("FIELDKIT_PORT", "8000"))
    create_app().run(host=os.environ.get("FIELDKIT_HOST", "127.0.0.1"), port=port, threaded=True)
