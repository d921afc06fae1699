# Orders API (docs/orders.md): POST /v1/orders, orders inside /v1/batch, the
# Segment e-commerce events, idempotent upserts, status transitions, money
# rules, FX conversion and identity stitching. Every assertion checks the HTTP
# answer and what PostgreSQL holds.
source "$(dirname "$0")/lib.sh"
new_db; start_server || finish

opost() { wpost /v1/orders "$1"; }
# state of one order: status|amount|refunded|net|currency
orow() { sql "SELECT status||'|'||amount_minor||'|'||refunded_minor||'|'||net_minor||'|'||currency FROM orders WHERE source='${2:-api}' AND external_id='$1'"; }
person() { sql "SELECT person_id FROM identities WHERE distinct_id = '$1'"; }
norders() { sql "SELECT count(*) FROM orders"; }

# --- create, then the same payload again ---
o1='{"orderId":"o1","userId":"alice","email":"Alice@Example.COM","amount":"19.99","currency":"USD","timestamp":"2026-01-05T10:00:00Z","items":[{"sku":"A-1","name":"Mug","quantity":2,"price":"9.995"}]}'
opost "$o1"
check_eq "item price with too many decimals: 422 naming items[0].price" "422 items[0].price" "$STATUS $(jget error.field <<<"$BODY")"
check_eq "nothing stored by the rejected order" 0 "$(norders)"
o1='{"orderId":"o1","userId":"alice","email":"Alice@Example.COM","amount":"19.99","currency":"USD","timestamp":"2026-01-05T10:00:00Z","items":[{"sku":"A-1","name":"Mug","quantity":2,"price":"9.99"}],"properties":{"coupon":"NY"}}'
opost "$o1"
check_eq "new order: 200 created" "200 created paid 1999" "$STATUS $(jget order.result <<<"$BODY") $(jget order.status <<<"$BODY") $(jget order.net_minor <<<"$BODY")"
check_eq "stored in minor units" "paid|1999|0|1999|USD" "$(orow o1)"
check_eq "raw payload kept as jsonb" "o1 NY" "$(sql "SELECT raw->>'orderId', raw#>>'{properties,coupon}' FROM orders WHERE external_id='o1'" | tr '|' ' ')"
check_eq "items keep price_minor" 999 "$(sql "SELECT items->0->>'price_minor' FROM orders WHERE external_id='o1'")"
check_eq "order belongs to alice's person" "$(person alice)" "$(sql "SELECT person_id FROM orders WHERE external_id='o1'")"
check_eq "email is an identity link (lower-cased) to the same person" "$(person alice)" "$(person email:alice@example.com)"
check_eq "order_keys fixes the person of (project, source, id)" "$(person alice)" "$(sql "SELECT person_id FROM order_keys WHERE source='api' AND external_id='o1'")"
check_eq "persons row for the buyer, first seen at the order" "2026-01-05 10:00:00+00" "$(sql "SELECT first_seen FROM persons WHERE person_id = $(person alice)")"
recv=$(sql "SELECT received_at FROM orders WHERE external_id='o1'")
opost "$o1"
check_eq "same payload again: 200 unchanged" "200 unchanged" "$STATUS $(jget order.result <<<"$BODY")"
check_eq "same payload again changes nothing" "1 $recv" "$(norders) $(sql "SELECT received_at FROM orders WHERE external_id='o1'")"

# --- every status transition, versioned by updatedAt ---
base='"orderId":"o2","userId":"bob","amount":"50.00","currency":"EUR","timestamp":"2026-01-06T09:00:00Z"'
opost "{$base,\"status\":\"pending\",\"updatedAt\":\"2026-01-06T09:00:00Z\"}"
check_eq "pending counts zero" "200 pending|5000|0|0|EUR" "$STATUS $(orow o2)"
opost "{$base,\"status\":\"paid\",\"updatedAt\":\"2026-01-06T09:05:00Z\"}"
check_eq "pending -> paid" "200 updated paid|5000|0|5000|EUR" "$STATUS $(jget order.result <<<"$BODY") $(orow o2)"
opost "{$base,\"status\":\"partially_refunded\",\"refundedAmount\":\"12.50\",\"updatedAt\":\"2026-01-07T00:00:00Z\"}"
check_eq "paid -> partially_refunded: net = amount - refunds" "200 partially_refunded|5000|1250|3750|EUR" "$STATUS $(orow o2)"
opost "{$base,\"status\":\"refunded\",\"updatedAt\":\"2026-01-08T00:00:00Z\"}"
check_eq "-> refunded (no refundedAmount: all of it)" "200 refunded|5000|5000|0|EUR" "$STATUS $(orow o2)"
opost "{$base,\"status\":\"paid\",\"updatedAt\":\"2026-01-06T09:05:00Z\"}"
check_eq "an older version arriving late changes nothing" "200 unchanged refunded|5000|5000|0|EUR" "$STATUS $(jget order.result <<<"$BODY") $(orow o2)"
opost '{"orderId":"o3","userId":"bob","amount":"30","currency":"EUR","status":"paid","updatedAt":"2026-01-06T10:00:00Z"}'
opost '{"orderId":"o3","userId":"bob","amount":"30","currency":"EUR","status":"cancelled","updatedAt":"2026-01-06T11:00:00Z"}'
check_eq "paid -> cancelled counts zero" "200 cancelled|3000|0|0|EUR" "$STATUS $(orow o3)"
opost '{"orderId":"o4","userId":"bob","amount":"30","currency":"EUR","status":"paid","refundedAmount":"10","updatedAt":"2026-01-06T10:00:00Z"}'
check_eq "paid with a refund is partially_refunded" "partially_refunded|3000|1000|2000|EUR" "$(orow o4)"
# Without updatedAt the timestamp is the version; on a tie the later stage wins.
opost '{"orderId":"o5","userId":"bob","amount":"8","currency":"USD","status":"paid","timestamp":"2026-01-09T00:00:00Z"}'
opost '{"orderId":"o5","userId":"bob","amount":"8","currency":"USD","status":"refunded","timestamp":"2026-01-09T00:00:00Z"}'
opost '{"orderId":"o5","userId":"bob","amount":"8","currency":"USD","status":"paid","timestamp":"2026-01-09T00:00:00Z"}'
check_eq "tie on version: refunded wins over paid in any order" "refunded|800|800|0|USD" "$(orow o5)"

# --- currencies and exponents ---
opost '{"orderId":"jp1","userId":"kenji","amount":"1000","currency":"jpy"}'
check_eq "JPY has no minor unit; code case-insensitive" "200 paid|1000|0|1000|JPY" "$STATUS $(orow jp1)"
opost '{"orderId":"kw1","userId":"kenji","amount":1.234,"currency":"KWD"}'
check_eq "KWD has 3 decimals; a JSON number is read exactly" "200 paid|1234|0|1234|KWD" "$STATUS $(orow kw1)"
opost '{"orderId":"mi1","userId":"kenji","amountMinor":12345,"currency":"EUR"}'
check_eq "amountMinor is taken as minor units" "200 paid|12345|0|12345|EUR" "$STATUS $(orow mi1)"
opost '{"orderId":"fp1","userId":"kenji","amount":0.3,"currency":"USD"}'
check_eq "0.3 is 30 cents, not 29" "paid|30|0|30|USD" "$(orow fp1)"

# --- bad input: 400 names the field, 422 for impossible money, nothing stored ---
before=$(norders)
bad() { # bad NAME BODY STATUS FIELD
  opost "$2"; check_eq "$1" "$3 $4" "$STATUS $(jget error.field <<<"$BODY")"
}
bad "unknown currency: 422" '{"orderId":"x1","userId":"u","amount":"1","currency":"XYZ"}' 422 currency
check_eq "unknown currency has code unknown_currency" unknown_currency "$(jget error.code <<<"$BODY")"
bad "gold has no minor unit: 422" '{"orderId":"x1","userId":"u","amount":"1","currency":"XAU"}' 422 currency
bad "negative amount: 422" '{"orderId":"x1","userId":"u","amount":"-1.00","currency":"USD"}' 422 amount
bad "negative amountMinor: 422" '{"orderId":"x1","userId":"u","amountMinor":-5,"currency":"USD"}' 422 amountMinor
bad "refund larger than the order: 422" '{"orderId":"x1","userId":"u","amount":"5","refundedAmount":"6","currency":"USD"}' 422 refundedAmount
check_eq "refund too large has code refund_exceeds_amount" refund_exceeds_amount "$(jget error.code <<<"$BODY")"
bad "int64 overflow in major units: 422" '{"orderId":"x1","userId":"u","amount":"92233720368547758.08","currency":"USD"}' 422 amount
bad "int64 overflow after scaling: 422" '{"orderId":"x1","userId":"u","amount":92233720368547759,"currency":"USD"}' 422 amount
opost '{"orderId":"x1","userId":"u","amountMinor":9223372036854775808,"currency":"USD"}'
check_eq "integer beyond int64: 422 invalid_amount" "422 invalid_amount" "$STATUS $(jget error.code <<<"$BODY")"
bad "more decimals than the currency: 422" '{"orderId":"x1","userId":"u","amount":"1.999","currency":"USD"}' 422 amount
bad "decimals on JPY: 422" '{"orderId":"x1","userId":"u","amount":"100.5","currency":"JPY"}' 422 amount
bad "amount not a number: 400" '{"orderId":"x1","userId":"u","amount":"ten","currency":"USD"}' 400 amount
bad "amount of the wrong type: 400" '{"orderId":"x1","userId":"u","amount":{"v":1},"currency":"USD"}' 400 amount
bad "no amount: 400" '{"orderId":"x1","userId":"u","currency":"USD"}' 400 amount
bad "amount and amountMinor both: 400" '{"orderId":"x1","userId":"u","amount":"1","amountMinor":100,"currency":"USD"}' 400 amount
bad "no currency: 400" '{"orderId":"x1","userId":"u","amount":"1"}' 400 currency
bad "currency not a string: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":840}' 400 currency
bad "no orderId: 400" '{"userId":"u","amount":"1","currency":"USD"}' 400 orderId
bad "nobody: 400 naming userId" '{"orderId":"x1","amount":"1","currency":"USD"}' 400 userId
bad "unknown status: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","status":"shipped"}' 400 status
bad "partially_refunded needs refundedAmount: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","status":"partially_refunded"}' 400 refundedAmount
bad "bad timestamp: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","timestamp":"soon"}' 400 timestamp
bad "bad updatedAt: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","updatedAt":"2026-13-01"}' 400 updatedAt
bad "items not an array: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","items":{}}' 400 items
bad "negative quantity: 400" '{"orderId":"x1","userId":"u","amount":"1","currency":"USD","items":[{"quantity":-1}]}' 400 "items[0].quantity"
opost '{"orderId":'
check_eq "malformed JSON: 400 invalid_json" "400 invalid_json" "$STATUS $(jget error.code <<<"$BODY")"
check_eq "nothing stored by any rejected order" "$before" "$(norders)"
check_eq "no identity created by rejected orders" 0 "$(sql "SELECT count(*) FROM identities WHERE distinct_id = 'u'")"

# --- auth ---
req POST /v1/orders '{"orderId":"a1","userId":"u","amount":"1","currency":"USD"}' "${JSON[@]}"
check_eq "no key: 401" 401 "$STATUS"
req POST /v1/orders '{"orderId":"a1","userId":"u","amount":"1","currency":"USD"}' "${JSON[@]}" -u "$RK:"
check_eq "read key: 403" 403 "$STATUS"
req POST /v1/orders "{\"orderId\":\"a1\",\"userId\":\"wk\",\"amount\":\"1\",\"currency\":\"USD\",\"writeKey\":\"$WK\"}" "${JSON[@]}"
check_eq "writeKey in the body works" "200 paid|100|0|100|USD" "$STATUS $(orow a1)"

# --- batch: type "order" next to events, all or nothing ---
wpost /v1/batch '{"batch":[{"type":"track","userId":"dora","event":"Checkout","messageId":"bm-1"},{"type":"order","orderId":"b1","userId":"dora","amount":"7.50","currency":"GBP"}]}'
check_eq "mixed batch: 200" 200 "$STATUS"
check_eq "mixed batch stored the event and the order" "1 paid|750|0|750|GBP" "$(sql "SELECT count(*) FROM events WHERE message_id='bm-1'") $(orow b1)"
check_eq "event and order of one batch share the person" "$(sql "SELECT person_id FROM events WHERE message_id='bm-1'")" "$(sql "SELECT person_id FROM orders WHERE external_id='b1'")"
wpost /v1/batch '{"batch":[{"type":"order","orderId":"b2","userId":"dora","amount":"1","currency":"GBP"},{"type":"track","userId":"dora","messageId":"bm-2"}]}'
check_eq "invalid event rejects the batch: 400 naming batch[1].event" "400 batch[1].event" "$STATUS $(jget error.field <<<"$BODY")"
check_eq "the valid order of a rejected batch is not stored" 0 "$(sql "SELECT count(*) FROM orders WHERE external_id='b2'")"
wpost /v1/batch '{"batch":[{"type":"track","userId":"dora","event":"X","messageId":"bm-3"},{"type":"order","orderId":"b3","userId":"dora","amount":"1","currency":"QQQ"}]}'
check_eq "invalid order rejects the batch: 422 naming batch[1].currency" "422 batch[1].currency" "$STATUS $(jget error.field <<<"$BODY")"
check_eq "the valid event of a rejected batch is not stored" 0 "$(sql "SELECT count(*) FROM events WHERE message_id='bm-3'")"
wpost /v1/batch '{"batch":[{"type":"order","orderId":"b4","userId":"dora","amount":"2","currency":"GBP"},{"type":"order","orderId":"b4","userId":"dora","amount":"2","currency":"GBP","status":"refunded"}]}'
check_eq "orders-only batch, same order twice: 200, last state wins" "200 refunded|200|200|0|GBP" "$STATUS $(orow b4)"

# --- Segment e-commerce spec: Order Completed / Order Refunded ---
wpost /v1/track '{"userId":"erin","event":"Order Completed","messageId":"sg-1","timestamp":"2026-02-01T12:00:00Z","properties":{"order_id":"seg-1","total":25,"revenue":20,"currency":"EUR","products":[{"product_id":"p1","sku":"S1","name":"Tee","price":25,"quantity":1}]}}'
check_eq "Order Completed: 200, the event is stored" "200 1" "$STATUS $(sql "SELECT count(*) FROM events WHERE message_id='sg-1'")"
check_eq "Order Completed: the order is stored from total" "paid|2500|0|2500|EUR" "$(orow seg-1)"
check_eq "Order Completed: products kept as items" 2500 "$(sql "SELECT items->0->>'price_minor' FROM orders WHERE external_id='seg-1'")"
wpost /v1/track '{"userId":"erin","event":"Order Refunded","messageId":"sg-2","properties":{"order_id":"seg-1","total":"10.00","currency":"EUR"}}'
check_eq "Order Refunded with a total: partial refund" "200 partially_refunded|2500|1000|1500|EUR" "$STATUS $(orow seg-1)"
wpost /v1/track '{"userId":"erin","event":"Order Refunded","messageId":"sg-2","properties":{"order_id":"seg-1","total":"10.00","currency":"EUR"}}'
check_eq "a retried Order Refunded (same messageId) counts once" "partially_refunded|2500|1000|1500|EUR 1" "$(orow seg-1) $(sql "SELECT count(*) FROM events WHERE message_id='sg-2'")"
wpost /v1/batch '{"batch":[{"type":"track","userId":"erin","event":"Other","messageId":"sg-3"},{"type":"track","userId":"erin","event":"Order Refunded","messageId":"sg-4","properties":{"order_id":"seg-1","total":"20.00"}}]}'
check_eq "refund beyond the order inside a batch: 422" "422 refund_exceeds_amount batch[1].properties.total" "$STATUS $(jget error.code <<<"$BODY") $(jget error.field <<<"$BODY")"
check_eq "... and the batch's events are not stored either" 0 "$(sql "SELECT count(*) FROM events WHERE message_id IN ('sg-3','sg-4')")"
wpost /v1/track '{"userId":"erin","event":"Order Refunded","messageId":"sg-5","properties":{"order_id":"seg-1"}}'
check_eq "Order Refunded without a total refunds everything" "refunded|2500|2500|0|EUR" "$(orow seg-1)"
wpost /v1/track '{"userId":"erin","event":"Order Refunded","messageId":"sg-6","properties":{"order_id":"never-seen","total":1}}'
check_eq "refund of an unknown order: event stored, no order" "200 1 0" "$STATUS $(sql "SELECT count(*) FROM events WHERE message_id='sg-6'") $(sql "SELECT count(*) FROM orders WHERE external_id='never-seen'")"
wpost /v1/track '{"userId":"erin","event":"Order Completed","messageId":"sg-7","properties":{"total":5}}'
check_eq "Order Completed without order_id: only an event" "200 1" "$STATUS $(sql "SELECT count(*) FROM events WHERE message_id='sg-7'")"
wpost /v1/track '{"userId":"erin","event":"Order Completed","messageId":"sg-8","properties":{"order_id":"seg-2","total":"-5"}}'
check_eq "Order Completed with a negative total: 422, event not stored" "422 properties.total 0" "$STATUS $(jget error.field <<<"$BODY") $(sql "SELECT count(*) FROM events WHERE message_id='sg-8'")"
wpost /v1/orders '{"orderId":"seg-3","userId":"erin","amount":"9","currency":"USD","status":"paid","timestamp":"2026-02-02T00:00:00Z"}'
wpost /v1/track '{"userId":"erin","event":"Order Completed","messageId":"sg-9","timestamp":"2026-02-02T00:00:00Z","properties":{"order_id":"seg-3","total":9}}'
check_eq "the same id from /v1/orders and Segment is one order" 1 "$(sql "SELECT count(*) FROM orders WHERE external_id='seg-3'")"

# --- multi-currency: reporting currency USD, rates per day ---
opost '{"orderId":"fx-usd","userId":"fx","amount":"10.00","currency":"USD","timestamp":"2030-03-10T00:00:00Z"}'
opost '{"orderId":"fx-eur","userId":"fx","amount":"10.00","currency":"EUR","timestamp":"2030-03-10T00:00:00Z"}'
opost '{"orderId":"fx-jpy","userId":"fx","amount":"1000","currency":"JPY","timestamp":"2030-03-10T00:00:00Z"}'
opost '{"orderId":"fx-gbp","userId":"fx","amount":"5.00","currency":"GBP","timestamp":"2030-03-10T00:00:00Z"}'
req POST /v1/fx_rates '{"rates":[{"currency":"EUR","day":"2030-03-01","rate":"1.1"},{"currency":"JPY","day":"2030-03-01","rate":0.0067},{"currency":"GBP","day":"2030-04-01","rate":"1.3"},{"currency":"EUR","quote":"USD","day":"2030-03-05","rate":"1.2"}]}' "${JSON[@]}" -H "Authorization: Bearer $RK"
check_eq "set FX rates with the read key" "200 4" "$STATUS $(jget stored <<<"$BODY")"
check_eq "rates stored per project (quote = reporting currency)" "EUR|USD|2030-03-01|1.1000000000" "$(sql "SELECT currency||'|'||quote||'|'||day||'|'||rate FROM fx_rates WHERE currency='EUR' ORDER BY day LIMIT 1")"
fxv() { sql "SELECT coalesce(net_reporting_minor::text,'null')||'|'||fx_missing FROM order_values WHERE external_id='$1'"; }
check_eq "same currency: as is" "1000|false" "$(fxv fx-usd)"
check_eq "EUR: latest rate on or before the order day (1.2)" "1200|false" "$(fxv fx-eur)"
check_eq "JPY -> USD rescales exponents (1000 * 0.0067 = 6.70)" "670|false" "$(fxv fx-jpy)"
check_eq "GBP: only a later rate exists -> flagged, not converted" "null|true" "$(fxv fx-gbp)"
rget "/v1/orders/revenue?from=2030-03-01&to=2030-04-01"
check_eq "revenue: converted total in the reporting currency" "200 USD 2870 28.70 3" "$STATUS $(jget reporting_currency <<<"$BODY") $(jget total.net_minor <<<"$BODY") $(jget total.net <<<"$BODY") $(jget total.orders <<<"$BODY")"
check_eq "revenue: GBP reported unconverted and flagged" 'GBP 500 5.00 no_fx_rate false' "$(jget unconverted.0.currency <<<"$BODY") $(jget unconverted.0.net_minor <<<"$BODY") $(jget unconverted.0.net <<<"$BODY") $(jget unconverted.0.reason <<<"$BODY") $(jget complete <<<"$BODY")"
req POST /v1/fx_rates '{"rates":[{"currency":"GBP","day":"2030-03-01","rate":"1.25"}]}' "${JSON[@]}" -H "Authorization: Bearer $RK"
rget "/v1/orders/revenue?from=2030-03-01&to=2030-04-01"
check_eq "with a GBP rate everything converts" "3495 true" "$(jget total.net_minor <<<"$BODY") $(jget complete <<<"$BODY")"
rget /v1/fx_rates
check_eq "GET /v1/fx_rates lists the rates" "USD 5" "$(jget reporting_currency <<<"$BODY") $(node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>console.log(JSON.parse(d).rates.length))' <<<"$BODY")"
sql "UPDATE settings SET currency = 'EUR'" >/dev/null
check_eq "reporting currency EUR: USD orders flagged without a USD->EUR rate" "null|true" "$(fxv fx-usd)"
sql "UPDATE settings SET currency = 'USD'" >/dev/null
fxbad() { req POST /v1/fx_rates "$2" "${JSON[@]}" -H "Authorization: Bearer $RK"; check_eq "$1" "$3 $4" "$STATUS $(jget error.field <<<"$BODY")"; }
fxbad "fx: unknown currency 422" '{"rates":[{"currency":"ABC","day":"2030-03-01","rate":"1"}]}' 422 "rates[0].currency"
fxbad "fx: bad day 400" '{"rates":[{"currency":"EUR","day":"2030-3-1","rate":"1"}]}' 400 "rates[0].day"
fxbad "fx: zero rate 422" '{"rates":[{"currency":"EUR","day":"2030-03-01","rate":"0"}]}' 422 "rates[0].rate"
fxbad "fx: quote = currency 422" '{"rates":[{"currency":"EUR","quote":"EUR","day":"2030-03-01","rate":"1"}]}' 422 "rates[0].quote"
fxbad "fx: empty list 400" '{"rates":[]}' 400 rates
req POST /v1/fx_rates '{"rates":[{"currency":"EUR","day":"2030-03-01","rate":"1"}]}' "${JSON[@]}" -u "$WK:"
check_eq "fx: write key is refused (403)" 403 "$STATUS"
check_eq "fx: rejected requests stored nothing" 1.1000000000 "$(sql "SELECT rate FROM fx_rates WHERE currency='EUR' AND day='2030-03-01'")"
rget "/v1/orders/revenue?from=tomorrow"
check_eq "revenue: bad from is 400" "400 from" "$STATUS $(jget error.field <<<"$BODY")"

# --- stitching: an order's person identified later ---
opost '{"orderId":"st-1","anonymousId":"anon-st","amount":"3","currency":"USD"}'
anon=$(person anon-st)
wpost /v1/identify '{"userId":"stitch-user","anonymousId":"anon-st","messageId":"st-id-1"}'
check_eq "identify after the order: the user joins the order's person" "$anon" "$(person stitch-user)"
wpost /v1/track '{"userId":"merge-user","event":"Signed Up","messageId":"st-ev-1"}'
mu=$(person merge-user)
opost '{"orderId":"st-2","anonymousId":"anon-st2","amount":"4","currency":"USD"}'
anon2=$(person anon-st2)
wpost /v1/identify '{"userId":"merge-user","anonymousId":"anon-st2","messageId":"st-id-2"}'
check_eq "two known persons: the order keeps its raw person" "$anon2" "$(sql "SELECT person_id FROM orders WHERE external_id='st-2'")"
check_eq "... and reporting maps it to the user's person" "$mu" "$(sql "SELECT effective_person_id FROM order_values WHERE external_id='st-2'")"
opost '{"orderId":"st-2","anonymousId":"anon-st2","userId":"merge-user","amount":"4","currency":"USD","status":"refunded","updatedAt":"2031-01-01T00:00:00Z"}'
check_eq "an update naming the user lands on the same row" "1 refunded" "$(sql "SELECT count(*), min(status) FROM orders WHERE external_id='st-2'" | tr '|' ' ')"

finish
