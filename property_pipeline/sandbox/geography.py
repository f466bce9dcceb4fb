"""Real English and Welsh outcodes the synthetic market places its properties in.

Each place is a real outcode with its postal town, a neighbourhood, its county, the district HM
Land Registry prints, its ONS region, an approximate centre, the local dialling code and a rough
2025 asking price per square metre. The portal identifiers are made up but stable: Rightmove's
`OUTCODE^n` number is derived from the outcode text, so it never changes between runs.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from property_pipeline.sandbox.model import Location

REGIONS = (
    "London",
    "South East",
    "East of England",
    "South West",
    "West Midlands",
    "East Midlands",
    "Yorkshire and The Humber",
    "North West",
    "North East",
    "Wales",
)


@dataclass(frozen=True, slots=True)
class Place:
    """A searchable outcode plus the local facts the market needs to price and describe homes."""

    location: Location
    area: str  # the neighbourhood a listing names as its locality, "Chadwell Heath"
    dialling_code: str  # "01708"; agent phone numbers start with it
    price_per_sqm: int  # typical 2025 asking price per square metre, whole pounds
    flat_share: float  # share of ordinary homes that are flats


# One place a line under its region heading: outcode | postal town | area | county |
# Land Registry district | latitude | longitude | dialling code | asking £ per m² (2025).
_PLACE_TABLE = """
[London]
E14|London|Poplar|Greater London|TOWER HAMLETS|51.505|-0.018|020|7800
E17|London|Walthamstow|Greater London|WALTHAM FOREST|51.587|-0.018|020|6900
E6|London|East Ham|Greater London|NEWHAM|51.532|0.054|020|5300
N1|London|Islington|Greater London|ISLINGTON|51.538|-0.097|020|10500
N17|London|Tottenham|Greater London|HARINGEY|51.597|-0.071|020|6300
NW10|London|Willesden|Greater London|BRENT|51.543|-0.246|020|6800
SE15|London|Peckham|Greater London|SOUTHWARK|51.470|-0.066|020|7300
SE18|London|Woolwich|Greater London|GREENWICH|51.484|0.069|020|5600
SW6|London|Fulham|Greater London|HAMMERSMITH AND FULHAM|51.476|-0.201|020|11500
SW11|London|Battersea|Greater London|WANDSWORTH|51.465|-0.163|020|10000
W12|London|Shepherd's Bush|Greater London|HAMMERSMITH AND FULHAM|51.508|-0.235|020|8600
CR0|Croydon|Addiscombe|Surrey|CROYDON|51.376|-0.085|020|5000
RM6|Romford|Chadwell Heath|Essex|BARKING AND DAGENHAM|51.576|0.128|020|5000
RM1|Romford|Romford|Essex|HAVERING|51.585|0.180|01708|4800
IG1|Ilford|Ilford|Essex|REDBRIDGE|51.558|0.074|020|5200
HA0|Wembley|Alperton|Middlesex|BRENT|51.553|-0.297|020|5700
EN3|Enfield|Ponders End|Middlesex|ENFIELD|51.660|-0.040|020|4900
BR1|Bromley|Bromley|Kent|BROMLEY|51.406|0.016|020|5800
UB3|Hayes|Hayes|Middlesex|HILLINGDON|51.507|-0.420|020|5000
KT1|Kingston upon Thames|Kingston|Surrey|KINGSTON UPON THAMES|51.410|-0.300|020|6500
[South East]
BN1|Brighton|North Laine|East Sussex|BRIGHTON AND HOVE|50.830|-0.140|01273|5300
BN21|Eastbourne|Upperton|East Sussex|EASTBOURNE|50.770|0.280|01323|3600
RG1|Reading|Katesgrove|Berkshire|READING|51.455|-0.970|0118|4300
SL1|Slough|Chalvey|Berkshire|SLOUGH|51.510|-0.600|01753|4100
OX4|Oxford|Cowley|Oxfordshire|OXFORD|51.740|-1.220|01865|5300
MK6|Milton Keynes|Netherfield|Buckinghamshire|MILTON KEYNES|52.030|-0.740|01908|3300
HP13|High Wycombe|Totteridge|Buckinghamshire|BUCKINGHAMSHIRE|51.630|-0.740|01494|4100
SO14|Southampton|St Mary's|Hampshire|SOUTHAMPTON|50.905|-1.395|023|3200
PO4|Southsea|Milton|Hampshire|PORTSMOUTH|50.785|-1.060|023|3300
ME7|Gillingham|Gillingham|Kent|MEDWAY|51.385|0.550|01634|3200
CT9|Margate|Cliftonville|Kent|THANET|51.385|1.385|01843|3100
CT6|Herne Bay|Herne Bay|Kent|CANTERBURY|51.370|1.130|01227|3600
TN34|Hastings|Ore|East Sussex|HASTINGS|50.860|0.580|01424|3200
GU1|Guildford|Stoke|Surrey|GUILDFORD|51.240|-0.570|01483|5400
RH10|Crawley|Three Bridges|West Sussex|CRAWLEY|51.110|-0.180|01293|3800
[East of England]
CB1|Cambridge|Romsey|Cambridgeshire|CAMBRIDGE|52.195|0.140|01223|5200
PE1|Peterborough|Millfield|Cambridgeshire|PETERBOROUGH|52.580|-0.230|01733|2500
NR2|Norwich|Golden Triangle|Norfolk|NORWICH|52.630|1.280|01603|3000
NR30|Great Yarmouth|Great Yarmouth|Norfolk|GREAT YARMOUTH|52.610|1.730|01493|2200
IP4|Ipswich|California|Suffolk|IPSWICH|52.060|1.170|01473|2700
CO1|Colchester|New Town|Essex|COLCHESTER|51.890|0.910|01206|3300
CM1|Chelmsford|Broomfield|Essex|CHELMSFORD|51.740|0.460|01245|4100
SS1|Southend-on-Sea|Thorpe Bay|Essex|SOUTHEND-ON-SEA|51.540|0.720|01702|3800
LU1|Luton|High Town|Bedfordshire|LUTON|51.875|-0.420|01582|3100
MK40|Bedford|Castle|Bedfordshire|BEDFORD|52.135|-0.470|01234|3200
WD17|Watford|Cassiobury|Hertfordshire|WATFORD|51.660|-0.400|01923|4800
SG1|Stevenage|Old Town|Hertfordshire|STEVENAGE|51.905|-0.200|01438|3700
[South West]
BS5|Bristol|Easton|City of Bristol|CITY OF BRISTOL|51.460|-2.560|0117|3700
BS3|Bristol|Bedminster|City of Bristol|CITY OF BRISTOL|51.440|-2.600|0117|3900
BA2|Bath|Widcombe|Somerset|BATH AND NORTH EAST SOMERSET|51.370|-2.370|01225|4800
EX4|Exeter|St Thomas|Devon|EXETER|50.730|-3.530|01392|3300
PL4|Plymouth|Mount Gould|Devon|PLYMOUTH|50.375|-4.130|01752|2400
TQ1|Torquay|Wellswood|Devon|TORBAY|50.470|-3.520|01803|2800
TR1|Truro|Truro|Cornwall|CORNWALL|50.260|-5.050|01872|3200
TR18|Penzance|Heamoor|Cornwall|CORNWALL|50.120|-5.540|01736|3000
BH1|Bournemouth|Boscombe|Dorset|BOURNEMOUTH, CHRISTCHURCH AND POOLE|50.725|-1.860|01202|3500
GL1|Gloucester|Barton|Gloucestershire|GLOUCESTER|51.860|-2.240|01452|2700
SN1|Swindon|Old Town|Wiltshire|SWINDON|51.560|-1.780|01793|2800
TA1|Taunton|Wilton|Somerset|SOMERSET|51.015|-3.100|01823|2800
[West Midlands]
B10|Birmingham|Small Heath|West Midlands|BIRMINGHAM|52.470|-1.850|0121|2200
B23|Birmingham|Erdington|West Midlands|BIRMINGHAM|52.520|-1.830|0121|2400
B29|Birmingham|Selly Oak|West Midlands|BIRMINGHAM|52.440|-1.940|0121|2800
CV1|Coventry|Hillfields|West Midlands|COVENTRY|52.410|-1.510|024|2500
WV1|Wolverhampton|Whitmore Reans|West Midlands|WOLVERHAMPTON|52.585|-2.120|01902|1900
DY1|Dudley|Kates Hill|West Midlands|DUDLEY|52.510|-2.085|01384|2100
ST4|Stoke-on-Trent|Stoke|Staffordshire|STOKE-ON-TRENT|53.000|-2.180|01782|1600
WR1|Worcester|Arboretum|Worcestershire|WORCESTER|52.195|-2.220|01905|2900
HR1|Hereford|Tupsley|Herefordshire|HEREFORDSHIRE|52.060|-2.710|01432|2800
SY1|Shrewsbury|Castlefields|Shropshire|SHROPSHIRE|52.710|-2.750|01743|2900
TF1|Telford|Wellington|Shropshire|TELFORD AND WREKIN|52.700|-2.520|01952|2100
[East Midlands]
NG7|Nottingham|Lenton|Nottinghamshire|NOTTINGHAM|52.950|-1.180|0115|2400
NG18|Mansfield|Mansfield|Nottinghamshire|MANSFIELD|53.140|-1.190|01623|1800
LE2|Leicester|Clarendon Park|Leicestershire|LEICESTER|52.610|-1.110|0116|2600
DE1|Derby|Derwent|Derbyshire|DERBY|52.920|-1.480|01332|2100
S40|Chesterfield|Brampton|Derbyshire|CHESTERFIELD|53.235|-1.430|01246|2000
LN1|Lincoln|West End|Lincolnshire|LINCOLN|53.235|-0.545|01522|2200
PE21|Boston|Skirbeck|Lincolnshire|BOSTON|52.980|-0.020|01205|1800
NN1|Northampton|Abington|Northamptonshire|WEST NORTHAMPTONSHIRE|52.240|-0.890|01604|2600
[Yorkshire and The Humber]
LS6|Leeds|Headingley|West Yorkshire|LEEDS|53.820|-1.570|0113|2900
LS11|Leeds|Beeston|West Yorkshire|LEEDS|53.780|-1.560|0113|2100
BD7|Bradford|Great Horton|West Yorkshire|BRADFORD|53.785|-1.780|01274|1500
HX1|Halifax|Halifax|West Yorkshire|CALDERDALE|53.720|-1.870|01422|1800
HD1|Huddersfield|Marsh|West Yorkshire|KIRKLEES|53.645|-1.785|01484|1900
S2|Sheffield|Heeley|South Yorkshire|SHEFFIELD|53.370|-1.460|0114|2100
S11|Sheffield|Ecclesall|South Yorkshire|SHEFFIELD|53.365|-1.500|0114|3000
DN1|Doncaster|Hyde Park|South Yorkshire|DONCASTER|53.520|-1.130|01302|1700
HU5|Hull|Newland|East Yorkshire|CITY OF KINGSTON UPON HULL|53.760|-0.370|01482|1500
YO10|York|Fulford|North Yorkshire|YORK|53.950|-1.060|01904|3600
YO11|Scarborough|Falsgrave|North Yorkshire|NORTH YORKSHIRE|54.280|-0.410|01723|2100
HG1|Harrogate|Bilton|North Yorkshire|NORTH YORKSHIRE|53.995|-1.540|01423|3300
DN31|Grimsby|West Marsh|Lincolnshire|NORTH EAST LINCOLNSHIRE|53.565|-0.080|01472|1400
[North West]
M8|Manchester|Cheetham Hill|Greater Manchester|MANCHESTER|53.505|-2.230|0161|2300
M14|Manchester|Fallowfield|Greater Manchester|MANCHESTER|53.450|-2.220|0161|2900
M20|Manchester|Didsbury|Greater Manchester|MANCHESTER|53.420|-2.230|0161|3700
OL1|Oldham|Oldham|Greater Manchester|OLDHAM|53.545|-2.110|0161|1800
SK1|Stockport|Stockport|Greater Manchester|STOCKPORT|53.410|-2.155|0161|2800
BL1|Bolton|Halliwell|Greater Manchester|BOLTON|53.590|-2.450|01204|1900
WN1|Wigan|Swinley|Greater Manchester|WIGAN|53.550|-2.630|01942|1700
L7|Liverpool|Kensington|Merseyside|LIVERPOOL|53.405|-2.950|0151|1700
L15|Liverpool|Wavertree|Merseyside|LIVERPOOL|53.395|-2.920|0151|2300
WA1|Warrington|Paddington|Cheshire|WARRINGTON|53.390|-2.580|01925|2300
CH1|Chester|Hoole|Cheshire|CHESHIRE WEST AND CHESTER|53.195|-2.890|01244|3000
PR1|Preston|Deepdale|Lancashire|PRESTON|53.760|-2.700|01772|1700
FY1|Blackpool|Central Blackpool|Lancashire|BLACKPOOL|53.815|-3.050|01253|1300
BB11|Burnley|Burnley Wood|Lancashire|BURNLEY|53.785|-2.250|01282|1200
BB5|Accrington|Church|Lancashire|HYNDBURN|53.755|-2.370|01254|1300
CA1|Carlisle|Botcherby|Cumbria|CUMBERLAND|54.890|-2.920|01228|1800
[North East]
NE4|Newcastle upon Tyne|Fenham|Tyne and Wear|NEWCASTLE UPON TYNE|54.970|-1.650|0191|1700
NE6|Newcastle upon Tyne|Byker|Tyne and Wear|NEWCASTLE UPON TYNE|54.975|-1.570|0191|1800
NE33|South Shields|Westoe|Tyne and Wear|SOUTH TYNESIDE|55.000|-1.430|0191|1600
SR4|Sunderland|Millfield|Tyne and Wear|SUNDERLAND|54.900|-1.415|0191|1300
DH1|Durham|Gilesgate|County Durham|COUNTY DURHAM|54.780|-1.575|0191|2200
DL1|Darlington|Harrowgate Hill|County Durham|DARLINGTON|54.525|-1.540|01325|1600
TS1|Middlesbrough|Newport|North Yorkshire|MIDDLESBROUGH|54.570|-1.240|01642|1100
TS24|Hartlepool|Headland|County Durham|HARTLEPOOL|54.690|-1.210|01429|1200
[Wales]
CF24|Cardiff|Roath|South Glamorgan|CARDIFF|51.485|-3.160|029|2900
CF5|Cardiff|Canton|South Glamorgan|CARDIFF|51.480|-3.220|029|2700
CF37|Pontypridd|Trallwng|Mid Glamorgan|RHONDDA CYNON TAF|51.600|-3.340|01443|1500
NP20|Newport|Maindee|Gwent|NEWPORT|51.585|-3.000|01633|2200
SA1|Swansea|Sandfields|West Glamorgan|SWANSEA|51.625|-3.940|01792|2000
SA31|Carmarthen|Johnstown|Dyfed|CARMARTHENSHIRE|51.860|-4.310|01267|2100
SY23|Aberystwyth|Penparcau|Dyfed|CEREDIGION|52.415|-4.080|01970|2500
LL11|Wrexham|Rhosddu|Clwyd|WREXHAM|53.045|-3.000|01978|2000
LL30|Llandudno|Craig-y-Don|Gwynedd|CONWY|53.320|-3.830|01492|2400
LL57|Bangor|Upper Bangor|Gwynedd|GWYNEDD|53.225|-4.130|01248|2200
"""

# London's housing stock is mostly flats; elsewhere flats are a minority of ordinary homes.
_FLAT_SHARE = {"London": 0.45, "South East": 0.22}
_DEFAULT_FLAT_SHARE = 0.16


def rightmove_outcode_id(outcode: str) -> str:
    """Rightmove's location identifier for an outcode: made up, but the same on every run."""
    return f"OUTCODE^{zlib.crc32(outcode.encode()) % 3989 + 11}"


def zoopla_slug(town: str, outcode: str) -> str:
    """Zoopla's area path segment, "romford/rm6", from the postal town and outcode."""
    town_slug = "-".join(town.lower().replace("'", "").split())
    return f"{town_slug}/{outcode.lower()}"


def _place(region: str, line: str) -> Place:
    outcode, town, area, county, district, lat, lon, dialling, per_sqm = line.split("|")
    location = Location(
        outcode=outcode,
        town=town,
        county=county,
        district=district,
        region=region,
        latitude=float(lat),
        longitude=float(lon),
        rightmove_id=rightmove_outcode_id(outcode),
        zoopla_slug=zoopla_slug(town, outcode),
    )
    return Place(
        location=location,
        area=area,
        dialling_code=dialling,
        price_per_sqm=int(per_sqm),
        flat_share=_FLAT_SHARE.get(region, _DEFAULT_FLAT_SHARE),
    )


def _parse_places(table: str) -> tuple[Place, ...]:
    places: list[Place] = []
    region = ""
    for line in table.strip().splitlines():
        if line.startswith("["):
            region = line.strip("[]")
            if region not in REGIONS:
                raise ValueError(f"place table names an unknown region {region!r}")
            continue
        places.append(_place(region, line))
    return tuple(places)


PLACES: tuple[Place, ...] = _parse_places(_PLACE_TABLE)

# Street names are made up from common English and Welsh roots; a street is a root plus a suffix.
STREET_ROOTS = (
    "Albert", "Alexandra", "Ashgrove", "Beech", "Belmont", "Birch", "Blenheim", "Bramley",
    "Brook", "Cambridge", "Carlton", "Castle", "Cedar", "Chapel", "Chestnut", "Church",
    "Clarence", "Coronation", "Cromwell", "Dale", "Elm", "Fairfield", "Field", "Forest",
    "Garden", "George", "Gladstone", "Glebe", "Grange", "Granville", "Green", "Grosvenor",
    "Hawthorn", "Hazel", "Highfield", "Hill", "Holly", "Kingsway", "Laburnum", "Lancaster",
    "Laurel", "Lime", "Linden", "Manor", "Maple", "Marlborough", "Meadow", "Mill",
    "Milton", "Nelson", "Newport", "Norfolk", "North", "Oak", "Orchard", "Oxford",
    "Palmerston", "Park", "Peel", "Pine", "Poplar", "Portland", "Priory", "Queen",
    "Queens", "Raglan", "Railway", "Rectory", "Regent", "Richmond", "Ridge", "River",
    "Rose", "Rosebery", "Salisbury", "School", "Severn", "Silver", "Spring", "Stanley",
    "Station", "Sycamore", "Talbot", "Tennyson", "Thornton", "Tudor", "Union", "Vale",
    "Vicarage", "Victoria", "Warwick", "Water", "Wellington", "Westbourne", "Willow", "Windsor",
    "Woodland", "York", "Balmoral", "Bexley", "Caxton", "Denmark", "Eldon", "Ferndale",
    "Harcourt", "Inkerman", "Jubilee", "Kenilworth", "Mafeking", "Osborne", "Pembroke", "Sefton",
)  # fmt: skip
STREET_SUFFIXES = (
    "Road", "Street", "Avenue", "Gardens", "Grove", "Close", "Lane", "Terrace", "Crescent", "Way",
    "Drive", "Place",
)  # fmt: skip
BUILDING_NAMES = (
    "Kestrel Court", "Wren House", "Linden Lodge", "Harbour View", "Cedar Court", "Mill House",
    "Park Mansions", "Regent Court", "Tower Point", "Riverside House", "Beacon Heights",
    "Sovereign Court", "Maple House", "Chapel Court", "Waterside", "Foundry House",
)  # fmt: skip
