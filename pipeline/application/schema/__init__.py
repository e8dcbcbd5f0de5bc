"""The XSD of the application document (XML form), published by the project."""
