[[ and s.join_time >= :date_start ]] [[ and s.join_time < date(:date_end, '+1 day') ]]
[[ and s.meeting_id in (select id from meetings where site_url = :site) ]]
[[ and s.account = :account ]] [[ and s.provider = :provider ]]
