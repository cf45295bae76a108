"""Word lists for the rule-based entity recogniser (entities.py): places, organisations, cues.

Plain data, English-centred; country and capital names in German, Spanish, French and Italian
map to their English names, so pages in those languages still get their places. Entries are
`alias=Canonical` or just `Name`; lookups are by the exact surface form (case matters: "US" is
a country, "us" is not).
"""

from __future__ import annotations


def _table(data: str) -> dict[str, str]:
    """`alias=Canonical | Name | ...` (newlines or bars) as {surface form: canonical name}."""
    table: dict[str, str] = {}
    for item in data.replace("\n", "|").split("|"):
        item = item.strip()
        if not item:
            continue
        alias, _, canonical = item.partition("=")
        table[alias.strip()] = (canonical or alias).strip()
    return table


def _words(data: str) -> frozenset[str]:
    return frozenset(data.split())


PLACES = _table("""
Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan
Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia
Bosnia and Herzegovina|Antigua and Barbuda
Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon
Canada|Chad|Chile|China|Colombia|Congo|Costa Rica|Croatia|Cuba|Cyprus|Czech Republic|Czechia
Denmark|Djibouti|Dominican Republic|Ecuador|Egypt|El Salvador|Eritrea|Estonia|Eswatini|Ethiopia
Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|Greece|Guatemala|Guinea|Guyana|Haiti
Honduras|Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Ivory Coast|Jamaica
Japan|Jordan|Kazakhstan|Kenya|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya
Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mauritania
Mauritius|Mexico|Moldova|Monaco|Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nepal
Netherlands|New Zealand|Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Norway|Oman
Pakistan|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|Qatar
Romania|Russia|Rwanda|Saudi Arabia|Senegal|Serbia|Sierra Leone|Singapore|Slovakia|Slovenia
Somalia|South Africa|South Korea|South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland
Syria|Taiwan|Tajikistan|Tanzania|Thailand|Togo|Trinidad and Tobago|Tunisia|Turkey|Turkmenistan
Uganda|Ukraine|United Arab Emirates|United Kingdom|United States|Uruguay|Uzbekistan|Vatican
Venezuela|Vietnam|Yemen|Zambia|Zimbabwe|Greenland|Puerto Rico|Hong Kong|Macau|Scotland|Wales
England|Northern Ireland|Catalonia|Tibet|Xinjiang|Crimea|Donbas|Kashmir|Gaza|Gaza Strip
West Bank|Golan Heights|Sahel|Balkans|Caucasus|Middle East|Europe|Asia|Africa|Antarctica
North America|South America|Latin America|Central America|Caribbean|Scandinavia|Arctic
Southeast Asia|East Asia|Central Asia|South Asia|Indo-Pacific|Pacific|Atlantic|Mediterranean
Korean Peninsula|Persian Gulf|Red Sea|Black Sea|South China Sea|Taiwan Strait|Siberia
U.S.=United States|US=United States|USA=United States|U.S.A.=United States
United States of America=United States|America=United States
UK=United Kingdom|U.K.=United Kingdom|Britain=United Kingdom|Great Britain=United Kingdom
Republic of Korea=South Korea|ROK=South Korea|DPRK=North Korea|UAE=United Arab Emirates
Russian Federation=Russia|Holland=Netherlands|Burma=Myanmar|Türkiye=Turkey|Turkiye=Turkey
Viet Nam=Vietnam|Côte d'Ivoire=Ivory Coast|Czech=Czech Republic|DRC=Congo
Democratic Republic of Congo=Congo|Democratic Republic of the Congo=Congo
Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Hawaii|Idaho
Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota
Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|North Carolina
North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota
Tennessee|Texas|Utah|Vermont|Virginia|West Virginia|Wisconsin|Wyoming
Ontario|Quebec|British Columbia|Alberta|Bavaria|Punjab|Kerala|Tamil Nadu|Bihar|Gujarat|Sichuan
Washington|New York|New York City=New York|Los Angeles|Chicago|Houston|San Francisco|Boston
Miami|Seattle|Atlanta|Dallas|Philadelphia|Detroit|Denver|Las Vegas|Silicon Valley|Wall Street
London|Paris|Berlin|Madrid|Rome|Milan|Lisbon|Dublin|Brussels|Amsterdam|Vienna|Prague|Warsaw
Budapest|Athens|Stockholm|Oslo|Copenhagen|Helsinki|Geneva|Zurich|Munich|Frankfurt|Hamburg
Barcelona|Manchester|Edinburgh|Moscow|St Petersburg|Kyiv|Kiev=Kyiv|Minsk|Istanbul|Ankara
Tehran|Baghdad|Damascus|Beirut|Jerusalem|Tel Aviv|Amman|Cairo|Riyadh|Dubai|Abu Dhabi|Doha
Kabul|Islamabad|Karachi|Lahore|New Delhi|Delhi|Mumbai|Kolkata|Chennai|Bengaluru|Bangalore
Hyderabad|Dhaka|Colombo|Kathmandu|Beijing|Shanghai|Shenzhen|Guangzhou|Wuhan|Taipei|Tokyo
Osaka|Seoul|Busan|Pyongyang|Bangkok|Hanoi|Ho Chi Minh City|Jakarta|Manila|Kuala Lumpur
Sydney|Melbourne|Canberra|Auckland|Toronto|Montreal|Vancouver|Ottawa|Mexico City|Havana
Caracas|Bogota|Lima|Santiago|Buenos Aires|Sao Paulo|São Paulo|Rio de Janeiro|Brasilia
Lagos|Abuja|Nairobi|Addis Ababa|Johannesburg|Cape Town|Khartoum|Tripoli|Tunis|Algiers
Rabat|Casablanca|Kinshasa|Accra|Dakar|Mogadishu|Kampala|Harare|Luanda|Hoshiarpur
Cologne|Stuttgart|Dusseldorf|Düsseldorf|Leipzig|Dresden|Lyon|Marseille|Toulouse|Bordeaux
Seville|Valencia|Bilbao|Porto|Naples|Turin|Florence|Venice|Rotterdam|Antwerp|Krakow
Deutschland=Germany|Frankreich=France|Spanien=Spain|Italien=Italy|Österreich=Austria
Schweiz=Switzerland|Russland=Russia|Vereinigte Staaten=United States|Großbritannien=United Kingdom
Niederlande=Netherlands|Polen=Poland|Griechenland=Greece|Türkei=Turkey|Europa=Europe
Alemania=Germany|Francia=France|España=Spain|Estados Unidos=United States|Reino Unido=United Kingdom
Rusia=Russia|Japón=Japan|Brasil=Brazil|México=Mexico|Países Bajos=Netherlands|Suiza=Switzerland
Allemagne=Germany|Espagne=Spain|Italie=Italy|États-Unis=United States|Royaume-Uni=United Kingdom
Russie=Russia|Chine=China|Japon=Japan|Brésil=Brazil|Suisse=Switzerland|Belgique=Belgium
Autriche=Austria|Pays-Bas=Netherlands|Grèce=Greece|Pologne=Poland|Italia=Italy|Germania=Germany
Francia=France|Spagna=Spain|Stati Uniti=United States|Regno Unito=United Kingdom
Wien=Vienna|München=Munich|Köln=Cologne|Genf=Geneva|Zürich=Zurich|Londres=London
Bruselas=Brussels|Bruxelles=Brussels|Brüssel=Brussels|Lisboa=Lisbon|Lissabon=Lisbon
Moskau=Moscow|Moscú=Moscow|Moscou=Moscow|Pekín=Beijing|Pékin=Beijing|Peking=Beijing
Roma=Rome|Rom=Rome|Atenas=Athens|Athen=Athens|Athènes=Athens|Varsovia=Warsaw|Warschau=Warsaw
""")

ORGANIZATIONS = _table("""
Reuters|Associated Press|AP=Associated Press|AFP|Agence France-Presse=AFP|Bloomberg|Xinhua
Yonhap|Kyodo|Kyodo News|TASS|PTI|BBC|CNN|Fox News|NPR|Al Jazeera|The New York Times
New York Times|The Washington Post|Washington Post|Wall Street Journal|Financial Times
United Nations|UN=United Nations|U.N.=United Nations|NATO|European Union|EU=European Union
World Health Organization|WHO=World Health Organization|IMF|International Monetary Fund=IMF
World Bank|WTO|World Trade Organization=WTO|OPEC|G7|G20|ASEAN|African Union|UNICEF|UNESCO
Red Cross|Amnesty International|Human Rights Watch|Greenpeace|Interpol|Europol|IAEA
European Commission|European Parliament|European Central Bank|ECB=European Central Bank
Federal Reserve|Fed=Federal Reserve|Securities and Exchange Commission
SEC=Securities and Exchange Commission
Health and Human Services|Johnson & Johnson|Procter & Gamble|AT&T|Marks & Spencer
Pentagon|White House|Kremlin|Congress|Senate|Supreme Court
FBI|CIA|NSA|NASA|FDA|CDC|EPA|Downing Street|Parliament|Bundestag|Knesset|Duma
Hamas|Hezbollah|Taliban|Houthis|Islamic State|ISIS=Islamic State|Al Qaeda|Wagner
Google|Alphabet|Apple|Microsoft|Amazon|Meta|Facebook|Instagram|WhatsApp|Twitter|TikTok
ByteDance|Tesla|SpaceX|Nvidia|Intel|AMD|IBM|Oracle|Samsung|Hyundai|LG|SK Hynix|Sony|Toyota
Honda|Nissan|Volkswagen|BMW|Mercedes-Benz|Airbus|Boeing|OpenAI|Netflix|Disney|Uber|Huawei
Alibaba|Tencent|Baidu|Xiaomi|Foxconn|TSMC|Goldman Sachs|JPMorgan|Morgan Stanley|Citigroup
BlackRock|Walmart|General Motors|General Electric|Ford
Pfizer|Moderna|Shell|BP|Exxon|ExxonMobil|Chevron|Aramco|Gazprom|Rosneft
""")

# Single words that make a capitalised name an organisation wherever they stand in it.
ORG_WORDS = _words("""
Inc Inc. Corp Corp. Corporation Ltd Ltd. LLC PLC plc AG SA GmbH Co Co. Company Group Holdings
Bank Ministry Party Agency Council Committee Commission Association University College Institute
Department Authority Court Parliament Assembly Federation Union Organization Organisation
Foundation Fund Board Bureau Administration Reserve Exchange Airlines Airways Motors
Technologies Systems Network Networks Club FC Police Army Navy Force Forces Command Guard
Coalition Laboratories Directorate Labs Pharmaceuticals Energy
Media Press Times Post Journal Herald Tribune Gazette Telegraph Broadcasting Television Radio
School Academy Hospital Church Office Service Services Senate Congress Cabinet Secretariat
Industries Partners Capital Securities Insurance Investments Ventures Enterprises Studios
""")

# Last words that make a capitalised name a place.
PLACE_WORDS = _words("""
Peninsula Island Islands Province State County Region District City Town Village Valley River
Sea Ocean Lake Bay Gulf Strait Coast Mountains Mountain Desert Canal Harbour Harbor Airport
Street Avenue Square Bridge Park Heights Plateau Basin Delta Territory Territories Prefecture
""")

# Words before a name that make it a person (case-sensitive, a trailing "." is ignored).
TITLES = _words("""
President Vice Mr Mrs Ms Miss Dr Prof Professor Sir Dame Lord Lady Minister Premier
Chancellor Senator Sen Rep Representative Congressman Congresswoman Governor Gov Mayor King
Queen Prince Princess Pope Cardinal Archbishop Bishop Rev Reverend Sheikh Emir Sultan Ayatollah
General Gen Lt Col Colonel Major Captain Capt Admiral Sergeant Sgt Commander Judge Justice
Secretary Ambassador Chairman Chairwoman Chair Director Spokesman Spokeswoman Spokesperson
Chief Executive CEO Founder Cofounder Co-founder Coach Officer Inspector Detective Deputy
Lawmaker Councillor Councilman Leader Administrator Manager Commissioner Attorney
""")

# Capitalised words that never start or are a name by themselves (sentence openers, months,
# weekdays, pronouns). Compared case-sensitively on the capitalised form.
NOT_NAMES = _words("""
The A An This That These Those There Their They Them Then Thus Here His Her Hers He She It Its
We Our Us You Your I Me My Mine Who Whom Whose What When Where Which Why How If Unless While
Although Though Because Since As At By For From In Into Of On Onto Off Out Over Under Up Down
To With Within Without About After Before Between During Against Among Amid Amidst Around
Across Along Behind Beyond Despite Except Like Near Per Past Through Throughout Toward Towards
Upon Via And But Or Nor So Yet Also Still Even Just Only Not No Yes Some Any All Both Each
Every Many Much More Most Other Another Such Several Few One Two Three Four Five Six Seven
Eight Nine Ten First Second Third Last Next However Meanwhile Moreover Furthermore
Therefore Instead Indeed Otherwise Nevertheless Nonetheless Accordingly Additionally Finally
Overall Today Tomorrow Yesterday Tonight Now Later Earlier Recently Currently Already Again
Often Sometimes Never Always Perhaps Maybe According Asked Read Watch Click Share Subscribe
Updated Created Posted Published Photo Image Video Source Sources Editing Reporting Writing
January February March April May June July August September October November December Jan Feb
Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday Saturday
Sunday Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun Mr. Mrs. Ms. Dr. Is Are Was Were Be Been
Has Have Had Do Does Did Will Would Can Could Should Shall Must Might Let Please Thank Thanks
Dear Hello Welcome Copyright Advertisement Sponsored Getty Images AI Oh OK Okay
""")

# Nationality adjectives: never an entity (and not a mention of the country either).
DEMONYMS = _words("""
American Americans British Chinese Japanese Korean Koreans Russian Russians Ukrainian Ukrainians
French German Germans Italian Spanish Portuguese Indian Indians Pakistani Iranian Iraqi Israeli
Israelis Palestinian Palestinians Syrian Turkish Egyptian Saudi Emirati Qatari Afghan Mexican
Canadian Brazilian Argentine Australian European Europeans African Asian Arab Arabs Western
Eastern Northern Southern Soviet Taiwanese Vietnamese Thai Filipino Indonesian Malaysian
Nigerian Kenyan Ethiopian Polish Dutch Belgian Swiss Swedish Norwegian Danish Finnish Greek
Irish Scottish Welsh English Hungarian Czech Romanian Serbian Croatian Georgian Armenian
Republican Republicans Democrat Democrats Democratic Conservative Conservatives Labour Liberal
Christian Christians Muslim Muslims Jewish Catholic Buddhist Hindu Sunni Shia Shiite Islamic
""")

# Common given names: a capitalised pair starting with one of these is a person.
GIVEN_NAMES = _words("""
Aaron Adam Adrian Ahmed Alan Albert Alex Alexander Alexandra Ali Alice Amanda Amy Andrea Andrew
Angela Anna Anne Anthony Antonio Barack Ben Benjamin Bernie Bill Bob Boris Brian Carlos Carol
Catherine Charles Chris Christian Christine Christopher Claire Daniel David Deborah Dennis Donald
Elizabeth Elon Emily Emma Emmanuel Eric Emmanuelle Frank Friedrich Gavin George Hillary Hunter
Ian Jack James Jane Jason Javier Jean Jeff Jennifer Jens Jeremy Jerome Jessica Jim Joe John
Jonathan Joseph Juan Julia Justin Kamala Karen Keir Kevin Kim Kristi Laura Linda Lisa Louis
Luis Marco Maria Marie Mark Martin Mary Matthew Michael Michelle Mike Mohammed Muhammad Nancy
Narendra Nicolas Nikki Olaf Olivia Pablo Patrick Paul Peter Pete Rachel Richard Rishi Robert
Ron Sam Samuel Sarah Scott Sergei Sergey Steve Steven Susan Thomas Tim Tom Tony Ursula Viktor
Vladimir Volodymyr William Xi Yoon Chad Jordan Georgia Victoria Florence Austin
Madison Sydney Paris Marco Kristalina Recep Benjamin Giorgia Pedro Olena Anwar
""")
