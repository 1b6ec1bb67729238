[[ and s.meeting_id in (select id from meetings where site_url = :site) ]]
[[ and s.account = :account ]] [[ and s.provider = :provider ]]
