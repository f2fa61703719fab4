# Chongqing HR & Social Security self-service terminal — screen texts (English)

app-title = Chongqing HR & Social Security Self-Service

## Attract page
attract-title = Self-Service Terminal
attract-subtitle = Insert your social security card, or tap the screen to choose a service
attract-card-hint = Chip facing up, into the card slot below
attract-start = Tap to start
attract-open-hours = Open 24 hours · No queue

## Header
language-switch = 中文
elderly-mode-on = Large text
elderly-mode-off = Standard
device-card-reader = Reader
device-printer = Printer
device-network = Network
device-camera = Camera
device-voice = Voice
device-state-online = OK
device-state-offline = Offline
device-state-no-device = Not connected
device-state-hardware-error = Fault
device-state-unknown = Checking

## Home page
home-title = What would you like to do?
home-all-services = All services
home-help = Help and staffed service
group-card-services = Card services
group-certification = Certification
group-queries-and-proofs = Queries, proofs and service points

service-card-status = Card status
service-card-status-hint = Is my card working?
service-card-activation = Activate card
service-card-activation-hint = Turn on the social security function
service-pin-change = Change PIN
service-pin-change-hint = Change your service PIN
service-loss-report = Report card lost
service-loss-report-hint = Block a lost card for now
service-pension-certification = Pension certification
service-pension-certification-hint = Once a year, by face
service-proxy-certification = Certify for a relative
service-proxy-certification-hint = Help an elderly relative certify
service-enrollment-query = Insurance enrollment
service-enrollment-query-hint = Your insurances
service-contribution-query = Contributions
service-contribution-query-hint = Pension contributions by month
service-pension-payment-query = Pension payments
service-pension-payment-query-hint = What was paid each month
service-medical-account-query = Medical account
service-medical-account-query-hint = Balance and spending
service-proof-print = Print a proof
service-proof-print-hint = Proof of insurance, rights record
service-service-point-finder = Nearby service points
service-service-point-finder-hint = Find the nearest office

## Navigation
nav-back = Back
nav-home = Home

## Help
help-title = Help and staffed service
help-hotline-label = HR & social security hotline (free)
help-hotline = 12333
help-counter-title = Go to a staffed counter
help-counter-body = For anything this terminal cannot do, the staff at the nearest service point will help you.
help-counter-hours = Counters: working days 9:00–12:00, 13:30–17:00
help-find-counter = Find the nearest service point
help-card-stuck = If your card is stuck or the terminal is broken, call 12333 and give this terminal's number.
help-terminal-id = Terminal number: { $id }

## A service that is not available yet
unavailable-body = This terminal cannot do this service yet.
unavailable-next = Call 12333 for advice, or visit the nearest service point.
unavailable-find-counter = Find the nearest service point

## Idle warning
idle-title = Are you still there?
idle-countdown = Returning to the start in { $seconds } s; your details will be cleared
idle-continue = Continue

## Social security card
holder-greeting = Hello, { $name }
holder-id = Social security number { $id }
take-card-title = Please take your card
take-card-body = Your card is still in the slot. Take it with you so it is not lost.
card-error-unreadable = This card could not be read. Check that the chip faces up, take it out and insert it again.
card-error-not-social-security = This is not a social security card. Please insert your social security card.
card-error-needs-sam = This terminal cannot read the personal data of 3rd-generation cards yet. Please go to a staffed counter.
card-error-reader = The card reader is not working right now. Call 12333 or go to a staffed counter.

## Demo mode
demo-tray-title = Demo card tray
demo-tray-take-out = Take card out

## Queries
query-needs-card = Please insert your social security card first
query-loading = Looking up your records, please wait…
query-print = Print a receipt
print-printing = Printing, please wait…
print-done = Printed. Please take your receipt.
query-error-unavailable = The records service cannot be reached right now. Try again later, or go to a staffed counter.
query-error-unknown = The result is being confirmed; please do not repeat. Check again later, or call 12333.
query-error-not-found = No insurance records were found for you. Please check at a staffed counter.
query-error-card-blocked = Your card is blocked. Please go to a staffed counter.
print-error-paper-out = The printer is out of paper. You can take a photo of the screen, or print at a staffed counter.
print-error-unavailable = The printer is not available. You can take a photo of the screen, or print at a staffed counter.
unit-yuan = { " " }yuan
row-name = Name
row-card-state = Card status
row-card-number = Card number
card-state-active = Working
card-state-not-activated = Not activated
card-state-temporarily-lost = Reported lost
card-state-blocked = Blocked
row-months-paid = Months paid in total
row-balance = Balance
row-year-in = Paid in this year
row-year-out = Spent this year
insurance-pension = Basic pension insurance
insurance-medical = Basic medical insurance
insurance-unemployment = Unemployment insurance
insurance-work-injury = Work injury insurance
insurance-other = Other insurance
insurance-status-paying = Paying
insurance-status-receiving = Receiving benefits
insurance-status-suspended = Suspended
insurance-status-other = Other
receipt-title = Chongqing HR & Social Security Receipt
receipt-terminal = Terminal
receipt-location = Location
receipt-service = Service
receipt-time = Time
receipt-holder = Name
receipt-id = ID number
receipt-result = Result
receipt-reference = Reference
receipt-verify = Scan to verify
receipt-hotline = Hotline
receipt-result-ok = Query completed
demo-receipt-title = Demo: the receipt the printer just printed
demo-receipt-close = Close

## Service-point finder
finder-search-hint = Tap here to type a name or its pinyin initials (e.g. jfb)
finder-loading = Loading service points…
finder-no-results = No service point matches. Try fewer filters, or other letters.
finder-walk = about { $value } min walk
finder-km = { $value } km
finder-open-now = Open now
finder-closed-now = Closed now
finder-open-24h = Open 24 hours
filter-open-now = Open now
filter-24h = 24-hour self-service
filter-this-district = This district
filter-certification = Pension certification
filter-card-replacement = Card replacement
filter-card-activation = Card activation
tier-city = City service centre
tier-district = District service centre
tier-town = Town service station
tier-village = Village/community station
tier-partner-bank = Partner bank branch
tier-partner-post = Partner post office
tier-partner-hospital = Partner hospital
keyboard-backspace = Delete
keyboard-clear = Clear
keyboard-done = Done
finder-address = Address
finder-hours = Opening hours
finder-phone = Phone
finder-services = Services
finder-photo = Photo
finder-scan-to-navigate = Scan the QR code with your phone to navigate here
finder-print-slip = Print the address and QR code
finder-print-printing = Printing…
finder-print-printed = Printed. Please take the slip.
finder-print-failed = The printer is not available; scan the code or take a photo of the address.
hours-24h = Open 24 hours
slip-title = HR & Social Security Service Point

## Queries by year and page
row-months-paid-this-year = Months paid this year
row-payments-this-year = Payments this year
row-total-this-year = Total this year
column-insurance = Insurance
column-status = Status
column-since = Since
column-month = Month
column-paid = Paid
column-base = Base
column-personal = You paid
column-employer = Employer
column-amount = Amount (yuan)
column-date = Date
column-place = Hospital or pharmacy
contribution-paid = Paid
contribution-unpaid = Not paid
contribution-due = Due
query-year = Year
query-year-of = { $year }
query-older-year = ‹ Year before
query-newer-year = Year after ›
query-page = Page { $page }
query-page-count = { " " }of { $pages }
query-previous-page = ‹ Previous
query-next-page = Next ›
query-try-again = Try again
query-no-records = No records for this year.
query-error-card-not-activated = Your card's social security functions are not switched on yet. Use "Activate card" first, or go to a staffed counter.
query-error-rejected = The service system did not answer this query:
print-error-cover-open = The printer's cover is open, so it cannot print. Please ask staff, or take a photo of the screen.

## Tiles that cannot start now
blocked-card-reader = Card reader out of order: not available now
blocked-printer = Printer out of order: not available now
blocked-back-end = No network: not available now

## The attract page while the back end is unreachable
attract-offline = The network is down: services that need it are paused.
attract-offline-still-works = Still available: { $services }

## Lists and opening hours
list-separator = ,{ " " }
hours-day-range = –
weekday-0 = Mon
weekday-1 = Tue
weekday-2 = Wed
weekday-3 = Thu
weekday-4 = Fri
weekday-5 = Sat
weekday-6 = Sun

## Card services: PIN pad, activation, PIN change, loss report and release
service-loss-release = Release a loss report
service-loss-release-hint = Found your card? Use it again
pin-prompt-service = Enter your card's service PIN
pin-prompt-issuing = Enter the PIN your card was issued with
pin-prompt-old = Enter your current PIN
pin-prompt-new = Choose a new PIN (6 digits)
pin-prompt-repeat = Enter the new PIN again
pin-wrong = That PIN is not right. You can try { $tries } more times.
pin-card-failed = The card did not answer. Check that it is in properly, then enter the PIN again.
pin-mismatch = The two new PINs were different. Please choose the new PIN again.
pin-weak-length = A new PIN has 6 digits.
pin-weak-same = A new PIN cannot be one digit repeated (like 111111). Please choose another.
pin-weak-sequence = A new PIN cannot be a run of digits (like 123456). Please choose another.
pin-weak-unchanged = The new PIN must differ from the old one.
pin-entered = { $count } digits entered
pin-delete = Delete
pin-confirm = Confirm
pin-checking = Checking the PIN…
pin-changing = Changing the card's PIN. Please do not take the card out…
pin-blocked = The PIN is locked: it was entered wrongly too many times, and this terminal can no longer use it. Bring your ID card and this card to a service counter to unlock it.
help-line-nearest = Nearest service counter: { $name }
help-line-hotline = Hotline 12333 (free)
card-service-needs-card = Please insert your social security card
card-service-needs-card-or-id-card = Insert your social security card, or place your ID card on the reader
card-service-id-card-hint = Lay your ID card flat on the ID-card reader below the screen.
card-service-needs-id-card = Lay your ID card flat on the ID-card reader
loss-report-choose = You can report a lost card without it. How do you want to prove who you are?
loss-report-choose-hint = With your ID card, place it on the reader; without it, type your ID number and name.
loss-report-use-id-card = Use my ID card
loss-report-type-id = Type my ID number
loss-report-id-prompt = Type your ID number (18 characters)
loss-report-name-prompt = Your name in pinyin, like zhangxiaofang
loss-report-next = Next
loss-report-id-bad-character = X can only be the last character. Please check.
loss-report-id-bad-checksum = This number is not right. Please check for a mistyped digit.
card-service-confirm-card-activation = Activate the social security functions of this card?
card-service-confirm-loss-report = Report this card lost? It cannot be used until the report is released.
card-service-confirm-loss-release = Release the loss report of this card?
card-service-confirm-button = Yes, go ahead
card-service-print = Print a receipt
card-service-looking-up = Looking this up…
card-service-sending = Working on it. Please do not take the card out…
card-unsuitable-blocked = This card is blocked; this terminal cannot help. Please go to a service counter.
card-unsuitable-already-active = This card is already active; nothing to do.
card-unsuitable-lost = This card is reported lost. Release the loss report first.
card-unsuitable-already-lost = This card is already reported lost. Once you find it, release the report here.
card-unsuitable-not-activated = This card is not activated yet, so it need not be reported. Please ask at a counter.
card-unsuitable-not-lost = This card is not reported lost; nothing to release.
card-unsuitable-other = This card cannot be used for this now. Please ask at a service counter.
card-service-done-card-activation = The card is active, with your new PIN.
card-service-done-loss-report = The card is reported lost. Once you find it, release the report here.
card-service-done-loss-release = The loss report is released; the card works again.
card-service-done-pin-change = The PIN is changed. Please remember the new one.
card-service-being-confirmed = The result is being confirmed. Please do not do it again. Check the card's state here later, or call 12333.
card-service-not-found = No social security card matches that ID number and name. Please check and try again.
farewell-interrupted = The last resident took the card out midway; nothing was done.
farewell-being-confirmed = The last transaction was sent and is being confirmed. Please do not repeat it.
receipt-card-number = Card number
receipt-card-state = Card state
receipt-verification-code = Verification code
pin-prompt-on-reader = Type your service PIN on the card reader's own keypad, then press its OK key
demo-tray-id-title = Demo ID cards
demo-tray-take-id = Take the ID card
receipt-result-done = Done

## Pension certification
blocked-camera = Camera fault: unavailable
certification-pensioner = Pensioner
certification-cycle = Year
certification-due-by = Certify by
certification-valid-until = Valid until
certification-last = Last certified
certification-last-none = No record
certification-due = Not certified this year yet. You can certify by face now.
certification-already = Already certified this year. Nothing to do.
certification-not-entitled = No pension that needs certification was found. Ask at a counter or call 12333.
certification-no-attempts = No face attempts left today. Please come back tomorrow, or go to a counter.
certification-how = Take off your hat and mask, face the screen and follow the prompts. It takes about 10 seconds.
certification-how-relative = Ask the pensioner to face the screen and follow the prompts. You may help, but only the pensioner may be in the picture.
certification-start = Start face certification
certification-face = Face the screen and put your face in the white outline
certification-face-relative = Ask the pensioner to face the screen, face in the white outline
certification-ready = I am ready
certification-action-blink = Please blink
certification-action-open-mouth = Please open your mouth
certification-action-nod = Please nod
certification-action-turn = Please shake your head
certification-step = Step { $number }
certification-steps = {" "}(of { $count })
certification-retake-too-dark = Too dark. Move to a brighter place, or let the light fall on your face.
certification-retake-too-bright = Too bright. Step out of direct light.
certification-retake-blurred = The picture is blurred. Please keep still.
certification-retake-no-face = No face seen. Face the screen and come a little closer.
certification-camera-failed = The camera has a fault. Please go to a counter or call 12333.
certification-sending = Sending your certification…
certification-certified = Certified
certification-received = Certification received
certification-received-hint = The network is down: your certification is kept on this terminal and sent when it is back. You will get the result by SMS, or call 12333.
certification-rejected-not-live = Not certified: the actions were not seen clearly.
certification-rejected-no-match = Not certified: the face does not match the registered photo.
certification-rejected-poor-image = Not certified: the pictures are not clear enough.
certification-attempts-left = You can try { $count } more times today.
certification-last-chance = You can try one last time today.
certification-home-visit = No more face attempts today. Please go to a counter; if the pensioner cannot get about, call 12333 for a home visit.
certification-relative-id-prompt = Enter the pensioner's ID number (18 characters)
certification-relative-name-prompt = Enter the pensioner's name in pinyin, e.g. wangjianguo
receipt-certification-cycle = Year
receipt-pensioner = Pensioner
receipt-helper = Helper
receipt-certified-until = Valid until
receipt-result-certified = Certified
receipt-result-received = Received; result by SMS
receipt-result-not-certified = Not certified

## Proxy bindings
service-proxy-bindings = Family helpers
service-proxy-bindings-hint = Relatives who may certify for you
proxies-of = Relatives bound for { $name }:
proxies-none = No relatives bound yet. Once bound, a relative can certify for you at a terminal or on a phone.
proxies-remove = Remove
proxies-full = At most 4 relatives can be bound. Remove one to add another.
proxies-add = Add a relative
proxies-id-prompt = Enter the relative's ID number (18 characters)
proxies-name-prompt = Enter the relative's name in pinyin, e.g. limingming
proxies-confirm-add = Bind this relative as a helper?
proxies-confirm-remove = Remove this relative as a helper?
proxies-added = Bound
proxies-removed = Removed
proxies-count = { $count } relatives bound now
proxies-reference = Reference { $reference }
receipt-proxy = Relative
receipt-proxy-count = Relatives bound
receipt-result-proxy-added = Bound
receipt-result-proxy-removed = Removed
## Print a proof (A4)
proof-checking-printer = Checking the A4 printer, please wait…
proof-choose-title = Which proof would you like to print?
proof-kind-enrollment = Proof of enrollment
proof-kind-enrollment-hint = Which social insurances you are enrolled in
proof-kind-contributions = Personal contribution record
proof-kind-contributions-hint = Your monthly contributions, year by year
proof-kind-receipt-copy = Proof of enrollment (receipt copy)
proof-contributions-needs-a4 = The A4 printer is out of service: the contribution record cannot be printed now
proof-a4-down = The A4 printer is out of service
proof-years-title = Which years would you like?
proof-years-this = This year ({ $year })
proof-years-last = Last year ({ $year })
proof-years-three = The last three years (since { $year })
proof-loading = Requesting your proof, please wait…
proof-preview-title = Please check, then tap “Print”
proof-preview-kind = Proof
proof-preview-name = Name
proof-preview-id = ID number
proof-preview-years = Years
proof-preview-rows = Contents
proof-preview-pages = Pages
proof-rows = { $rows } records
proof-pages = { $pages } A4 pages
proof-print = Print
proof-print-again = Print again
proof-print-receipt-copy = Print the receipt copy
proof-printing = Printing your proof, please wait…
proof-done-a4 = Printed. Please take your proof from the A4 tray.
proof-done-receipt = Printed. Please take your receipt. A receipt copy is not an official proof.
proof-verification-code = Verification code
proof-verify-hint = Anyone can check this proof by scanning its QR code, or online with the verification code.
proof-print-failed-help = You can print it again, or print your proof at a staffed counter.
proof-receipt-copy-title = Proof of enrollment (receipt copy)
proof-receipt-copy-note = Receipt copy, not an official proof
print-error-jammed = The printer has a paper jam, so it cannot print. Please ask staff.
print-error-unconfirmed = The printer did not confirm it finished. Please check the tray; if there is no proof, ask staff.
blocked-a4-printer = A4 printer out of service
blocked-a4-paper-out = A4 printer out of paper: not available now
blocked-a4-jammed = A4 printer paper jam: not available now
blocked-a4-cover-open = A4 printer cover open: not available now

## Out of service: the terminal's records cannot be opened (both languages on one page).
out-of-service-title = Temporarily out of service
out-of-service-body = This terminal cannot serve anyone right now; what you have already done here is not affected. Please go to a staffed counter, or call the hotline.
out-of-service-counter = Nearest staffed counter: { $name }
out-of-service-district = Please go to a social security service hall in { $district }
out-of-service-terminal = When you report this, give the terminal number: { $id }
