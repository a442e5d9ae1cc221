"""The call-routing picture: Mermaid text of an estate and its rendering."""
