and m.start >= (select start from period) and m.start < (select stop from period)
[[ and m.site_url = :site ]] [[ and m.account = :account ]] [[ and m.provider = :provider ]]
