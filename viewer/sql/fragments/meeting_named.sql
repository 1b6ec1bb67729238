(title like '%' || :meeting || '%' or title like '%' || replace(:meeting, '-', '') || '%'
 or join_code = replace(replace(lower(:meeting), '-', ''), ' ', ''))
