[[ and s.meeting_id in (select meeting_id from webex_meetings where site_url = :site) ]]
[[ and s.account = :account ]] [[ and s.provider = :provider ]]
[[ and s.id in (select session_id from session_locations where building = :building) ]]
