"""The admin process: the operators' console (pages behind a password) and JSON API (behind a token).

bridge:create_admin_app() builds it. It reads and acts only through
bridge.operate, as the command line does, and never serves a webhook.
"""
