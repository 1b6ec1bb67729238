and m.start >= (select start from period) and m.start < (select stop from period)
[[ and m.id in (select meeting_id from webex_meetings where site_url = :site) ]] [[ and m.account = :account ]] [[ and m.provider = :provider ]]
