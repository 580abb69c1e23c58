"""Who may see and do what: the acting user (``actor.py``), the roles and the role check
(``roles.py``), and the query scopes every protected read goes through (``scopes.py``)."""
