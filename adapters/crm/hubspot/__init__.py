"""The HubSpot CRM behind the CrmAdapter protocol, through HubSpot's official SDK."""
