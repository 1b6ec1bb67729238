and s.join_time >= (select start from period) and s.join_time < (select stop from period)
{{ scope_filters }}
