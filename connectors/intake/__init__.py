"""Intake of application documents from outside: the bytes of a JSON or XML document read
into the application document (shared by the portal and the file drop), and the file-drop
directory."""
