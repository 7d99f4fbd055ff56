"""The local playground: the real bot, a stand-in Slack workspace and a web page."""
