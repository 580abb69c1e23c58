"""What tests share besides fixtures (those are in ``conftest.py``), one module per concern:

- ``users``: the ``Api`` client, users, areas of the map a test has to itself, a marketplace
  (a customer's published job offered to vendors nearby), administrators;
- ``deals``: jobs taken through quotes, award, funding, milestones, reviews and disputes over
  the API, and small readers of what the API shows;
- ``ledger``: an audit of the ledger independent of the application's own;
- ``database``: the run's databases, SQL readers, snapshots, lock waiters, events committed
  without HTTP;
- ``servers``: ``tradematch serve`` processes and sockets for in-process peers (no port is
  guessed);
- ``apps``: an app with settings of a test's own, a dispatcher beside it, waiting for a
  condition;
- ``peers``: an SMTP server and a web push service;
- ``live``: a live-update socket client;
- ``files``: files to upload (a phone's photo with GPS and an owner in its EXIF, PNG, WebP,
  PDF), the calls that send them, reading an image back;
- ``browser``: the dashboards in Chromium: signed-in tabs that record what they received, and
  everything a page holds;
- ``world``: the security tests' world of actors around one job.
"""
