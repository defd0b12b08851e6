//! What a question is about, read from its words without a model: the place it names (a
//! gazetteer of a few hundred world cities and countries, each with its IANA time zone) and
//! the arithmetic it asks for. Scenario rules use them through placeholders
//! ([`Slots`]: `{place}`, `{timezone}`, `{expression}`, `{spoken_expression}`), so an offline
//! demo answers what was asked.
//!
//! Pure functions, no IO.
//!
//! ```
//! use bidi_sim::places::{Slots, find_place};
//!
//! let paris = find_place("What time is it in Paris?").expect("a place");
//! assert_eq!((paris.name, paris.timezone), ("Paris", "Europe/Paris"));
//! let slots = Slots::from_text("What is 6 times 9?");
//! assert_eq!(slots.expression.as_deref(), Some("6 * 9"));
//! assert_eq!(slots.spoken_expression.as_deref(), Some("6 times 9"));
//! assert!(find_place("What time is it on the moon?").is_none());
//! ```

/// A place the gazetteer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// How to say it (`Buenos Aires`, `the United Kingdom`).
    pub name: &'static str,
    /// Its IANA time zone (a country: its capital's).
    pub timezone: &'static str,
}

/// `(lower-case name as written, display name, IANA zone)`; names are matched on word
/// boundaries, the longest first.
const GAZETTEER: &[(&str, &str, &str)] = &[
    ("tokyo", "Tokyo", "Asia/Tokyo"),
    ("osaka", "Osaka", "Asia/Tokyo"),
    ("kyoto", "Kyoto", "Asia/Tokyo"),
    ("yokohama", "Yokohama", "Asia/Tokyo"),
    ("sapporo", "Sapporo", "Asia/Tokyo"),
    ("seoul", "Seoul", "Asia/Seoul"),
    ("busan", "Busan", "Asia/Seoul"),
    ("pyongyang", "Pyongyang", "Asia/Pyongyang"),
    ("beijing", "Beijing", "Asia/Shanghai"),
    ("shanghai", "Shanghai", "Asia/Shanghai"),
    ("shenzhen", "Shenzhen", "Asia/Shanghai"),
    ("guangzhou", "Guangzhou", "Asia/Shanghai"),
    ("chengdu", "Chengdu", "Asia/Shanghai"),
    ("wuhan", "Wuhan", "Asia/Shanghai"),
    ("xian", "Xian", "Asia/Shanghai"),
    ("hangzhou", "Hangzhou", "Asia/Shanghai"),
    ("hong kong", "Hong Kong", "Asia/Hong_Kong"),
    ("macau", "Macau", "Asia/Macau"),
    ("taipei", "Taipei", "Asia/Taipei"),
    ("manila", "Manila", "Asia/Manila"),
    ("cebu", "Cebu", "Asia/Manila"),
    ("hanoi", "Hanoi", "Asia/Ho_Chi_Minh"),
    ("ho chi minh city", "Ho Chi Minh City", "Asia/Ho_Chi_Minh"),
    ("saigon", "Saigon", "Asia/Ho_Chi_Minh"),
    ("bangkok", "Bangkok", "Asia/Bangkok"),
    ("phuket", "Phuket", "Asia/Bangkok"),
    ("phnom penh", "Phnom Penh", "Asia/Phnom_Penh"),
    ("vientiane", "Vientiane", "Asia/Vientiane"),
    ("yangon", "Yangon", "Asia/Yangon"),
    ("kuala lumpur", "Kuala Lumpur", "Asia/Kuala_Lumpur"),
    ("singapore", "Singapore", "Asia/Singapore"),
    ("jakarta", "Jakarta", "Asia/Jakarta"),
    ("bali", "Bali", "Asia/Makassar"),
    ("denpasar", "Denpasar", "Asia/Makassar"),
    ("surabaya", "Surabaya", "Asia/Jakarta"),
    ("dhaka", "Dhaka", "Asia/Dhaka"),
    ("kathmandu", "Kathmandu", "Asia/Kathmandu"),
    ("thimphu", "Thimphu", "Asia/Thimphu"),
    ("colombo", "Colombo", "Asia/Colombo"),
    ("delhi", "Delhi", "Asia/Kolkata"),
    ("new delhi", "New Delhi", "Asia/Kolkata"),
    ("mumbai", "Mumbai", "Asia/Kolkata"),
    ("bombay", "Bombay", "Asia/Kolkata"),
    ("bangalore", "Bangalore", "Asia/Kolkata"),
    ("bengaluru", "Bengaluru", "Asia/Kolkata"),
    ("chennai", "Chennai", "Asia/Kolkata"),
    ("kolkata", "Kolkata", "Asia/Kolkata"),
    ("calcutta", "Calcutta", "Asia/Kolkata"),
    ("hyderabad", "Hyderabad", "Asia/Kolkata"),
    ("pune", "Pune", "Asia/Kolkata"),
    ("ahmedabad", "Ahmedabad", "Asia/Kolkata"),
    ("karachi", "Karachi", "Asia/Karachi"),
    ("lahore", "Lahore", "Asia/Karachi"),
    ("islamabad", "Islamabad", "Asia/Karachi"),
    ("kabul", "Kabul", "Asia/Kabul"),
    ("tashkent", "Tashkent", "Asia/Tashkent"),
    ("almaty", "Almaty", "Asia/Almaty"),
    ("astana", "Astana", "Asia/Almaty"),
    ("bishkek", "Bishkek", "Asia/Bishkek"),
    ("dushanbe", "Dushanbe", "Asia/Dushanbe"),
    ("ashgabat", "Ashgabat", "Asia/Ashgabat"),
    ("ulaanbaatar", "Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("tehran", "Tehran", "Asia/Tehran"),
    ("baghdad", "Baghdad", "Asia/Baghdad"),
    ("kuwait city", "Kuwait City", "Asia/Kuwait"),
    ("riyadh", "Riyadh", "Asia/Riyadh"),
    ("jeddah", "Jeddah", "Asia/Riyadh"),
    ("mecca", "Mecca", "Asia/Riyadh"),
    ("medina", "Medina", "Asia/Riyadh"),
    ("doha", "Doha", "Asia/Qatar"),
    ("manama", "Manama", "Asia/Bahrain"),
    ("dubai", "Dubai", "Asia/Dubai"),
    ("abu dhabi", "Abu Dhabi", "Asia/Dubai"),
    ("muscat", "Muscat", "Asia/Muscat"),
    ("sanaa", "Sanaa", "Asia/Aden"),
    ("jerusalem", "Jerusalem", "Asia/Jerusalem"),
    ("tel aviv", "Tel Aviv", "Asia/Jerusalem"),
    ("amman", "Amman", "Asia/Amman"),
    ("beirut", "Beirut", "Asia/Beirut"),
    ("damascus", "Damascus", "Asia/Damascus"),
    ("istanbul", "Istanbul", "Europe/Istanbul"),
    ("ankara", "Ankara", "Europe/Istanbul"),
    ("izmir", "Izmir", "Europe/Istanbul"),
    ("baku", "Baku", "Asia/Baku"),
    ("tbilisi", "Tbilisi", "Asia/Tbilisi"),
    ("yerevan", "Yerevan", "Asia/Yerevan"),
    ("moscow", "Moscow", "Europe/Moscow"),
    ("saint petersburg", "Saint Petersburg", "Europe/Moscow"),
    ("st petersburg", "St Petersburg", "Europe/Moscow"),
    ("novosibirsk", "Novosibirsk", "Asia/Novosibirsk"),
    ("vladivostok", "Vladivostok", "Asia/Vladivostok"),
    ("yekaterinburg", "Yekaterinburg", "Asia/Yekaterinburg"),
    ("kazan", "Kazan", "Europe/Moscow"),
    ("kyiv", "Kyiv", "Europe/Kyiv"),
    ("kiev", "Kiev", "Europe/Kyiv"),
    ("odesa", "Odesa", "Europe/Kyiv"),
    ("minsk", "Minsk", "Europe/Minsk"),
    ("chisinau", "Chisinau", "Europe/Chisinau"),
    ("warsaw", "Warsaw", "Europe/Warsaw"),
    ("krakow", "Krakow", "Europe/Warsaw"),
    ("prague", "Prague", "Europe/Prague"),
    ("bratislava", "Bratislava", "Europe/Bratislava"),
    ("budapest", "Budapest", "Europe/Budapest"),
    ("vienna", "Vienna", "Europe/Vienna"),
    ("bucharest", "Bucharest", "Europe/Bucharest"),
    ("sofia", "Sofia", "Europe/Sofia"),
    ("belgrade", "Belgrade", "Europe/Belgrade"),
    ("zagreb", "Zagreb", "Europe/Zagreb"),
    ("ljubljana", "Ljubljana", "Europe/Ljubljana"),
    ("sarajevo", "Sarajevo", "Europe/Sarajevo"),
    ("skopje", "Skopje", "Europe/Skopje"),
    ("tirana", "Tirana", "Europe/Tirane"),
    ("podgorica", "Podgorica", "Europe/Podgorica"),
    ("athens", "Athens", "Europe/Athens"),
    ("thessaloniki", "Thessaloniki", "Europe/Athens"),
    ("nicosia", "Nicosia", "Asia/Nicosia"),
    ("valletta", "Valletta", "Europe/Malta"),
    ("rome", "Rome", "Europe/Rome"),
    ("milan", "Milan", "Europe/Rome"),
    ("naples", "Naples", "Europe/Rome"),
    ("venice", "Venice", "Europe/Rome"),
    ("florence", "Florence", "Europe/Rome"),
    ("turin", "Turin", "Europe/Rome"),
    ("berlin", "Berlin", "Europe/Berlin"),
    ("munich", "Munich", "Europe/Berlin"),
    ("hamburg", "Hamburg", "Europe/Berlin"),
    ("frankfurt", "Frankfurt", "Europe/Berlin"),
    ("cologne", "Cologne", "Europe/Berlin"),
    ("stuttgart", "Stuttgart", "Europe/Berlin"),
    ("dusseldorf", "Dusseldorf", "Europe/Berlin"),
    ("zurich", "Zurich", "Europe/Zurich"),
    ("geneva", "Geneva", "Europe/Zurich"),
    ("bern", "Bern", "Europe/Zurich"),
    ("basel", "Basel", "Europe/Zurich"),
    ("paris", "Paris", "Europe/Paris"),
    ("lyon", "Lyon", "Europe/Paris"),
    ("marseille", "Marseille", "Europe/Paris"),
    ("toulouse", "Toulouse", "Europe/Paris"),
    ("bordeaux", "Bordeaux", "Europe/Paris"),
    ("brussels", "Brussels", "Europe/Brussels"),
    ("antwerp", "Antwerp", "Europe/Brussels"),
    ("amsterdam", "Amsterdam", "Europe/Amsterdam"),
    ("rotterdam", "Rotterdam", "Europe/Amsterdam"),
    ("the hague", "The Hague", "Europe/Amsterdam"),
    ("luxembourg", "Luxembourg", "Europe/Luxembourg"),
    ("madrid", "Madrid", "Europe/Madrid"),
    ("barcelona", "Barcelona", "Europe/Madrid"),
    ("valencia", "Valencia", "Europe/Madrid"),
    ("seville", "Seville", "Europe/Madrid"),
    ("bilbao", "Bilbao", "Europe/Madrid"),
    ("lisbon", "Lisbon", "Europe/Lisbon"),
    ("porto", "Porto", "Europe/Lisbon"),
    ("london", "London", "Europe/London"),
    ("manchester", "Manchester", "Europe/London"),
    ("birmingham", "Birmingham", "Europe/London"),
    ("liverpool", "Liverpool", "Europe/London"),
    ("edinburgh", "Edinburgh", "Europe/London"),
    ("glasgow", "Glasgow", "Europe/London"),
    ("cardiff", "Cardiff", "Europe/London"),
    ("belfast", "Belfast", "Europe/London"),
    ("dublin", "Dublin", "Europe/Dublin"),
    ("copenhagen", "Copenhagen", "Europe/Copenhagen"),
    ("oslo", "Oslo", "Europe/Oslo"),
    ("stockholm", "Stockholm", "Europe/Stockholm"),
    ("gothenburg", "Gothenburg", "Europe/Stockholm"),
    ("helsinki", "Helsinki", "Europe/Helsinki"),
    ("reykjavik", "Reykjavik", "Atlantic/Reykjavik"),
    ("tallinn", "Tallinn", "Europe/Tallinn"),
    ("riga", "Riga", "Europe/Riga"),
    ("vilnius", "Vilnius", "Europe/Vilnius"),
    ("cairo", "Cairo", "Africa/Cairo"),
    ("alexandria", "Alexandria", "Africa/Cairo"),
    ("tripoli", "Tripoli", "Africa/Tripoli"),
    ("tunis", "Tunis", "Africa/Tunis"),
    ("algiers", "Algiers", "Africa/Algiers"),
    ("casablanca", "Casablanca", "Africa/Casablanca"),
    ("rabat", "Rabat", "Africa/Casablanca"),
    ("marrakesh", "Marrakesh", "Africa/Casablanca"),
    ("khartoum", "Khartoum", "Africa/Khartoum"),
    ("addis ababa", "Addis Ababa", "Africa/Addis_Ababa"),
    ("nairobi", "Nairobi", "Africa/Nairobi"),
    ("mombasa", "Mombasa", "Africa/Nairobi"),
    ("kampala", "Kampala", "Africa/Kampala"),
    ("kigali", "Kigali", "Africa/Kigali"),
    ("dar es salaam", "Dar es Salaam", "Africa/Dar_es_Salaam"),
    ("zanzibar", "Zanzibar", "Africa/Dar_es_Salaam"),
    ("mogadishu", "Mogadishu", "Africa/Mogadishu"),
    ("lagos", "Lagos", "Africa/Lagos"),
    ("abuja", "Abuja", "Africa/Lagos"),
    ("accra", "Accra", "Africa/Accra"),
    ("dakar", "Dakar", "Africa/Dakar"),
    ("abidjan", "Abidjan", "Africa/Abidjan"),
    ("bamako", "Bamako", "Africa/Bamako"),
    ("kinshasa", "Kinshasa", "Africa/Kinshasa"),
    ("luanda", "Luanda", "Africa/Luanda"),
    ("johannesburg", "Johannesburg", "Africa/Johannesburg"),
    ("cape town", "Cape Town", "Africa/Johannesburg"),
    ("durban", "Durban", "Africa/Johannesburg"),
    ("pretoria", "Pretoria", "Africa/Johannesburg"),
    ("harare", "Harare", "Africa/Harare"),
    ("lusaka", "Lusaka", "Africa/Lusaka"),
    ("maputo", "Maputo", "Africa/Maputo"),
    ("windhoek", "Windhoek", "Africa/Windhoek"),
    ("gaborone", "Gaborone", "Africa/Gaborone"),
    ("antananarivo", "Antananarivo", "Indian/Antananarivo"),
    ("new york", "New York", "America/New_York"),
    ("new york city", "New York City", "America/New_York"),
    ("boston", "Boston", "America/New_York"),
    ("washington", "Washington", "America/New_York"),
    ("philadelphia", "Philadelphia", "America/New_York"),
    ("miami", "Miami", "America/New_York"),
    ("atlanta", "Atlanta", "America/New_York"),
    ("detroit", "Detroit", "America/Detroit"),
    ("toronto", "Toronto", "America/Toronto"),
    ("montreal", "Montreal", "America/Toronto"),
    ("ottawa", "Ottawa", "America/Toronto"),
    ("quebec", "Quebec", "America/Toronto"),
    ("chicago", "Chicago", "America/Chicago"),
    ("houston", "Houston", "America/Chicago"),
    ("dallas", "Dallas", "America/Chicago"),
    ("austin", "Austin", "America/Chicago"),
    ("new orleans", "New Orleans", "America/Chicago"),
    ("minneapolis", "Minneapolis", "America/Chicago"),
    ("winnipeg", "Winnipeg", "America/Winnipeg"),
    ("denver", "Denver", "America/Denver"),
    ("phoenix", "Phoenix", "America/Phoenix"),
    ("salt lake city", "Salt Lake City", "America/Denver"),
    ("calgary", "Calgary", "America/Edmonton"),
    ("edmonton", "Edmonton", "America/Edmonton"),
    ("los angeles", "Los Angeles", "America/Los_Angeles"),
    ("san francisco", "San Francisco", "America/Los_Angeles"),
    ("seattle", "Seattle", "America/Los_Angeles"),
    ("portland", "Portland", "America/Los_Angeles"),
    ("las vegas", "Las Vegas", "America/Los_Angeles"),
    ("san diego", "San Diego", "America/Los_Angeles"),
    ("vancouver", "Vancouver", "America/Vancouver"),
    ("anchorage", "Anchorage", "America/Anchorage"),
    ("honolulu", "Honolulu", "Pacific/Honolulu"),
    ("mexico city", "Mexico City", "America/Mexico_City"),
    ("guadalajara", "Guadalajara", "America/Mexico_City"),
    ("monterrey", "Monterrey", "America/Monterrey"),
    ("cancun", "Cancun", "America/Cancun"),
    ("tijuana", "Tijuana", "America/Tijuana"),
    ("guatemala city", "Guatemala City", "America/Guatemala"),
    ("san salvador", "San Salvador", "America/El_Salvador"),
    ("tegucigalpa", "Tegucigalpa", "America/Tegucigalpa"),
    ("managua", "Managua", "America/Managua"),
    ("san jose", "San Jose", "America/Costa_Rica"),
    ("panama city", "Panama City", "America/Panama"),
    ("havana", "Havana", "America/Havana"),
    ("kingston", "Kingston", "America/Jamaica"),
    ("santo domingo", "Santo Domingo", "America/Santo_Domingo"),
    ("san juan", "San Juan", "America/Puerto_Rico"),
    ("port au prince", "Port au Prince", "America/Port-au-Prince"),
    ("bogota", "Bogota", "America/Bogota"),
    ("medellin", "Medellin", "America/Bogota"),
    ("caracas", "Caracas", "America/Caracas"),
    ("quito", "Quito", "America/Guayaquil"),
    ("guayaquil", "Guayaquil", "America/Guayaquil"),
    ("lima", "Lima", "America/Lima"),
    ("la paz", "La Paz", "America/La_Paz"),
    ("santiago", "Santiago", "America/Santiago"),
    (
        "buenos aires",
        "Buenos Aires",
        "America/Argentina/Buenos_Aires",
    ),
    ("cordoba", "Cordoba", "America/Argentina/Cordoba"),
    ("montevideo", "Montevideo", "America/Montevideo"),
    ("asuncion", "Asuncion", "America/Asuncion"),
    ("sao paulo", "Sao Paulo", "America/Sao_Paulo"),
    ("rio de janeiro", "Rio de Janeiro", "America/Sao_Paulo"),
    ("brasilia", "Brasilia", "America/Sao_Paulo"),
    ("salvador", "Salvador", "America/Bahia"),
    ("manaus", "Manaus", "America/Manaus"),
    ("recife", "Recife", "America/Recife"),
    ("sydney", "Sydney", "Australia/Sydney"),
    ("melbourne", "Melbourne", "Australia/Melbourne"),
    ("brisbane", "Brisbane", "Australia/Brisbane"),
    ("perth", "Perth", "Australia/Perth"),
    ("adelaide", "Adelaide", "Australia/Adelaide"),
    ("canberra", "Canberra", "Australia/Sydney"),
    ("hobart", "Hobart", "Australia/Hobart"),
    ("darwin", "Darwin", "Australia/Darwin"),
    ("auckland", "Auckland", "Pacific/Auckland"),
    ("wellington", "Wellington", "Pacific/Auckland"),
    ("christchurch", "Christchurch", "Pacific/Auckland"),
    ("suva", "Suva", "Pacific/Fiji"),
    ("port moresby", "Port Moresby", "Pacific/Port_Moresby"),
    ("japan", "Japan", "Asia/Tokyo"),
    ("south korea", "South Korea", "Asia/Seoul"),
    ("korea", "Korea", "Asia/Seoul"),
    ("china", "China", "Asia/Shanghai"),
    ("taiwan", "Taiwan", "Asia/Taipei"),
    ("philippines", "the Philippines", "Asia/Manila"),
    ("vietnam", "Vietnam", "Asia/Ho_Chi_Minh"),
    ("thailand", "Thailand", "Asia/Bangkok"),
    ("cambodia", "Cambodia", "Asia/Phnom_Penh"),
    ("myanmar", "Myanmar", "Asia/Yangon"),
    ("malaysia", "Malaysia", "Asia/Kuala_Lumpur"),
    ("indonesia", "Indonesia", "Asia/Jakarta"),
    ("bangladesh", "Bangladesh", "Asia/Dhaka"),
    ("nepal", "Nepal", "Asia/Kathmandu"),
    ("sri lanka", "Sri Lanka", "Asia/Colombo"),
    ("india", "India", "Asia/Kolkata"),
    ("pakistan", "Pakistan", "Asia/Karachi"),
    ("afghanistan", "Afghanistan", "Asia/Kabul"),
    ("uzbekistan", "Uzbekistan", "Asia/Tashkent"),
    ("kazakhstan", "Kazakhstan", "Asia/Almaty"),
    ("mongolia", "Mongolia", "Asia/Ulaanbaatar"),
    ("iran", "Iran", "Asia/Tehran"),
    ("iraq", "Iraq", "Asia/Baghdad"),
    ("kuwait", "Kuwait", "Asia/Kuwait"),
    ("saudi arabia", "Saudi Arabia", "Asia/Riyadh"),
    ("qatar", "Qatar", "Asia/Qatar"),
    ("bahrain", "Bahrain", "Asia/Bahrain"),
    (
        "united arab emirates",
        "the United Arab Emirates",
        "Asia/Dubai",
    ),
    ("uae", "the United Arab Emirates", "Asia/Dubai"),
    ("oman", "Oman", "Asia/Muscat"),
    ("yemen", "Yemen", "Asia/Aden"),
    ("israel", "Israel", "Asia/Jerusalem"),
    ("jordan", "Jordan", "Asia/Amman"),
    ("lebanon", "Lebanon", "Asia/Beirut"),
    ("syria", "Syria", "Asia/Damascus"),
    ("turkey", "Turkey", "Europe/Istanbul"),
    ("azerbaijan", "Azerbaijan", "Asia/Baku"),
    ("georgia", "Georgia", "Asia/Tbilisi"),
    ("armenia", "Armenia", "Asia/Yerevan"),
    ("russia", "Russia", "Europe/Moscow"),
    ("ukraine", "Ukraine", "Europe/Kyiv"),
    ("belarus", "Belarus", "Europe/Minsk"),
    ("moldova", "Moldova", "Europe/Chisinau"),
    ("poland", "Poland", "Europe/Warsaw"),
    ("czechia", "Czechia", "Europe/Prague"),
    ("czech republic", "the Czech Republic", "Europe/Prague"),
    ("slovakia", "Slovakia", "Europe/Bratislava"),
    ("hungary", "Hungary", "Europe/Budapest"),
    ("austria", "Austria", "Europe/Vienna"),
    ("romania", "Romania", "Europe/Bucharest"),
    ("bulgaria", "Bulgaria", "Europe/Sofia"),
    ("serbia", "Serbia", "Europe/Belgrade"),
    ("croatia", "Croatia", "Europe/Zagreb"),
    ("slovenia", "Slovenia", "Europe/Ljubljana"),
    ("albania", "Albania", "Europe/Tirane"),
    ("greece", "Greece", "Europe/Athens"),
    ("cyprus", "Cyprus", "Asia/Nicosia"),
    ("malta", "Malta", "Europe/Malta"),
    ("italy", "Italy", "Europe/Rome"),
    ("germany", "Germany", "Europe/Berlin"),
    ("switzerland", "Switzerland", "Europe/Zurich"),
    ("france", "France", "Europe/Paris"),
    ("belgium", "Belgium", "Europe/Brussels"),
    ("netherlands", "the Netherlands", "Europe/Amsterdam"),
    ("holland", "Holland", "Europe/Amsterdam"),
    ("spain", "Spain", "Europe/Madrid"),
    ("portugal", "Portugal", "Europe/Lisbon"),
    ("united kingdom", "the United Kingdom", "Europe/London"),
    ("uk", "the United Kingdom", "Europe/London"),
    ("england", "England", "Europe/London"),
    ("scotland", "Scotland", "Europe/London"),
    ("wales", "Wales", "Europe/London"),
    ("ireland", "Ireland", "Europe/Dublin"),
    ("denmark", "Denmark", "Europe/Copenhagen"),
    ("norway", "Norway", "Europe/Oslo"),
    ("sweden", "Sweden", "Europe/Stockholm"),
    ("finland", "Finland", "Europe/Helsinki"),
    ("iceland", "Iceland", "Atlantic/Reykjavik"),
    ("estonia", "Estonia", "Europe/Tallinn"),
    ("latvia", "Latvia", "Europe/Riga"),
    ("lithuania", "Lithuania", "Europe/Vilnius"),
    ("egypt", "Egypt", "Africa/Cairo"),
    ("libya", "Libya", "Africa/Tripoli"),
    ("tunisia", "Tunisia", "Africa/Tunis"),
    ("algeria", "Algeria", "Africa/Algiers"),
    ("morocco", "Morocco", "Africa/Casablanca"),
    ("sudan", "Sudan", "Africa/Khartoum"),
    ("ethiopia", "Ethiopia", "Africa/Addis_Ababa"),
    ("kenya", "Kenya", "Africa/Nairobi"),
    ("uganda", "Uganda", "Africa/Kampala"),
    ("rwanda", "Rwanda", "Africa/Kigali"),
    ("tanzania", "Tanzania", "Africa/Dar_es_Salaam"),
    ("somalia", "Somalia", "Africa/Mogadishu"),
    ("nigeria", "Nigeria", "Africa/Lagos"),
    ("ghana", "Ghana", "Africa/Accra"),
    ("senegal", "Senegal", "Africa/Dakar"),
    ("mali", "Mali", "Africa/Bamako"),
    ("angola", "Angola", "Africa/Luanda"),
    ("south africa", "South Africa", "Africa/Johannesburg"),
    ("zimbabwe", "Zimbabwe", "Africa/Harare"),
    ("zambia", "Zambia", "Africa/Lusaka"),
    ("mozambique", "Mozambique", "Africa/Maputo"),
    ("namibia", "Namibia", "Africa/Windhoek"),
    ("botswana", "Botswana", "Africa/Gaborone"),
    ("madagascar", "Madagascar", "Indian/Antananarivo"),
    ("united states", "the United States", "America/New_York"),
    ("usa", "the United States", "America/New_York"),
    ("america", "America", "America/New_York"),
    ("canada", "Canada", "America/Toronto"),
    ("mexico", "Mexico", "America/Mexico_City"),
    ("guatemala", "Guatemala", "America/Guatemala"),
    ("el salvador", "El Salvador", "America/El_Salvador"),
    ("honduras", "Honduras", "America/Tegucigalpa"),
    ("nicaragua", "Nicaragua", "America/Managua"),
    ("costa rica", "Costa Rica", "America/Costa_Rica"),
    ("panama", "Panama", "America/Panama"),
    ("cuba", "Cuba", "America/Havana"),
    ("jamaica", "Jamaica", "America/Jamaica"),
    (
        "dominican republic",
        "the Dominican Republic",
        "America/Santo_Domingo",
    ),
    ("puerto rico", "Puerto Rico", "America/Puerto_Rico"),
    ("haiti", "Haiti", "America/Port-au-Prince"),
    ("rince colombia", "Rince Colombia", "America/Bogota"),
    ("venezuela", "Venezuela", "America/Caracas"),
    ("ecuador", "Ecuador", "America/Guayaquil"),
    ("peru", "Peru", "America/Lima"),
    ("bolivia", "Bolivia", "America/La_Paz"),
    ("chile", "Chile", "America/Santiago"),
    ("argentina", "Argentina", "America/Argentina/Buenos_Aires"),
    ("uruguay", "Uruguay", "America/Montevideo"),
    ("paraguay", "Paraguay", "America/Asuncion"),
    ("brazil", "Brazil", "America/Sao_Paulo"),
    ("australia", "Australia", "Australia/Sydney"),
    ("new zealand", "New Zealand", "Pacific/Auckland"),
    ("fiji", "Fiji", "Pacific/Fiji"),
    ("hawaii", "Hawaii", "Pacific/Honolulu"),
    ("alaska", "Alaska", "America/Anchorage"),
];

/// The words of `text`, lower-case, letters and digits only (`São` → `sao`, `St.` → `st`).
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'Ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The place `text` names: the longest gazetteer name found on word boundaries (`New York`
/// before `York`), the first such in the text when several are.
pub fn find_place(text: &str) -> Option<Place> {
    let words = words(text);
    let mut best: Option<(usize, usize, Place)> = None; // (length in words, start, place)
    for (name, display, zone) in GAZETTEER {
        let needle: Vec<&str> = name.split(' ').collect();
        let Some(start) = words
            .windows(needle.len())
            .position(|w| w.iter().zip(&needle).all(|(a, b)| a == b))
        else {
            continue;
        };
        let better = best
            .is_none_or(|(len, at, _)| needle.len() > len || (needle.len() == len && start < at));
        if better {
            best = Some((
                needle.len(),
                start,
                Place {
                    name: display,
                    timezone: zone,
                },
            ));
        }
    }
    best.map(|(_, _, place)| place)
}

/// How an operator may be spoken, and its symbol.
const OPERATORS: &[(&str, &str)] = &[
    ("times", "*"),
    ("x", "*"),
    ("multiplied by", "*"),
    ("*", "*"),
    ("×", "*"),
    ("plus", "+"),
    ("+", "+"),
    ("minus", "-"),
    ("-", "-"),
    ("divided by", "/"),
    ("over", "/"),
    ("/", "/"),
    ("÷", "/"),
];

/// The first `NUMBER OPERATOR NUMBER ...` run in `text`: the expression with symbols
/// (`12 * 7`) and as it was spoken (`12 times 7`).
pub fn find_expression(text: &str) -> Option<(String, String)> {
    // Tokens: numbers, operator symbols, and words.
    let spaced: String = text
        .chars()
        .flat_map(|c| {
            if matches!(c, '*' | '+' | '/' | '×' | '÷') {
                vec![' ', c, ' ']
            } else if c == '?' || c == ',' || c == '!' {
                vec![' ']
            } else {
                vec![c]
            }
        })
        .collect();
    let tokens: Vec<String> = spaced
        .split_whitespace()
        .map(|t| t.trim_end_matches('.').to_lowercase())
        .collect();
    let is_number = |t: &str| !t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite);
    let operator_at = |i: usize| -> Option<(usize, &'static str)> {
        OPERATORS.iter().find_map(|(spoken, symbol)| {
            let parts: Vec<&str> = spoken.split(' ').collect();
            let fits = tokens.len() >= i + parts.len()
                && parts.iter().enumerate().all(|(k, p)| tokens[i + k] == *p);
            fits.then_some((parts.len(), *symbol))
        })
    };
    for start in 0..tokens.len() {
        if !is_number(&tokens[start]) {
            continue;
        }
        let mut symbolic = vec![tokens[start].clone()];
        let mut spoken = vec![tokens[start].clone()];
        let mut i = start + 1;
        while let Some((len, symbol)) = operator_at(i) {
            let Some(next) = tokens.get(i + len).filter(|t| is_number(t)) else {
                break;
            };
            symbolic.push(symbol.to_owned());
            symbolic.push(next.clone());
            spoken.extend(tokens[i..i + len].iter().cloned());
            spoken.push(next.clone());
            i += len + 1;
        }
        if symbolic.len() >= 3 {
            return Some((symbolic.join(" "), spoken.join(" ")));
        }
    }
    None
}

/// The values a rule's placeholders take from one question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    /// `{place}`: the place named.
    pub place: Option<String>,
    /// `{timezone}`: its IANA time zone.
    pub timezone: Option<String>,
    /// `{expression}`: the arithmetic asked for, with symbols (`12 * 7`).
    pub expression: Option<String>,
    /// `{spoken_expression}`: the same as spoken (`12 times 7`).
    pub spoken_expression: Option<String>,
}

impl Slots {
    /// What `text` says.
    pub fn from_text(text: &str) -> Self {
        let place = find_place(text);
        let expression = find_expression(text);
        Self {
            place: place.map(|p| p.name.to_owned()),
            timezone: place.map(|p| p.timezone.to_owned()),
            spoken_expression: expression.as_ref().map(|e| e.1.clone()),
            expression: expression.map(|e| e.0),
        }
    }

    /// `template` with every placeholder filled; `None` when it names a placeholder this
    /// question did not give (the rule then does not answer it).
    pub fn fill(&self, template: &str) -> Option<String> {
        let mut out = template.to_owned();
        for (key, value) in [
            ("{place}", &self.place),
            ("{timezone}", &self.timezone),
            ("{spoken_expression}", &self.spoken_expression),
            ("{expression}", &self.expression),
        ] {
            if out.contains(key) {
                out = out.replace(key, value.as_deref()?);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_on_word_boundaries_longest_first() {
        let zone = |t: &str| find_place(t).map(|p| p.timezone);
        assert_eq!(zone("time in new york please"), Some("America/New_York"));
        assert_eq!(
            zone("What's the time in BUENOS AIRES?"),
            Some("America/Argentina/Buenos_Aires")
        );
        assert_eq!(
            zone("what time is it in São Paulo"),
            Some("America/Sao_Paulo")
        );
        assert_eq!(zone("and in Japan?"), Some("Asia/Tokyo"));
        assert_eq!(zone("weather in Nairobi, Kenya"), Some("Africa/Nairobi"));
        assert_eq!(zone("parisian time"), None, "no match inside a word");
        assert_eq!(zone("what time is it"), None);
        assert_eq!(
            find_place("in the uk").map(|p| p.name),
            Some("the United Kingdom")
        );
    }

    #[test]
    fn every_entry_is_lower_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (name, _, zone) in GAZETTEER {
            assert_eq!(*name, name.to_lowercase());
            assert!(seen.insert(*name), "{name} twice");
            assert!(zone.contains('/'), "{zone}");
        }
        assert!(GAZETTEER.len() >= 300);
    }

    #[test]
    fn expressions() {
        let e = |t: &str| find_expression(t);
        assert_eq!(
            e("What is 12 times 7?"),
            Some(("12 * 7".into(), "12 times 7".into()))
        );
        assert_eq!(
            e("what's 15 divided by 3"),
            Some(("15 / 3".into(), "15 divided by 3".into()))
        );
        assert_eq!(
            e("3 plus 4 minus 1"),
            Some(("3 + 4 - 1".into(), "3 plus 4 minus 1".into()))
        );
        assert_eq!(e("2*21"), Some(("2 * 21".into(), "2 * 21".into())));
        assert_eq!(e("what time is it in 2026"), None);
        assert_eq!(e("times 7"), None);
    }

    #[test]
    fn slots_fill_or_refuse() {
        let s = Slots::from_text("What time is it in Lima?");
        assert_eq!(
            s.fill("In {place} ({timezone})").as_deref(),
            Some("In Lima (America/Lima)")
        );
        assert_eq!(s.fill("{expression}"), None);
        assert_eq!(s.fill("no placeholder").as_deref(), Some("no placeholder"));
    }
}
