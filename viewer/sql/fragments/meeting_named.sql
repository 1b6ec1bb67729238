(title like '%' || :meeting || '%' or title like '%' || replace(:meeting, '-', '') || '%')
