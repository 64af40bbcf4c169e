# Django's zh_Hans MONTH_DAY_FORMAT is "m月j日" (09月5日); Chinese writes the month without a zero.
MONTH_DAY_FORMAT = "n月j日"
