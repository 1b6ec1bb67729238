-- Where a breakdown's bar leads: the sessions view, unless the chart names a vendor's own list.
sessions
