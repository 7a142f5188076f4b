"""CRM copilot for Slack: answers from the CRM and the knowledge base, proposes changes for approval."""
