"""Templates and static assets of the HTML reports (data only, no code).

The built JavaScript and CSS are committed so that installing needs no Node.
"""
