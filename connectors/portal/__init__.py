"""The Origin Service Portal: the HTTPS API of INTERFACES.md and web pages for people, with
OIDC sign-in, over a view of the pipeline's topics that the portal builds itself."""
