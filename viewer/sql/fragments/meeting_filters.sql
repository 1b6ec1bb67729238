[[ and m.start >= :date_start ]] [[ and m.start < date(:date_end, '+1 day') ]]
[[ and m.site_url = :site ]] [[ and m.account = :account ]] [[ and m.provider = :provider ]]
